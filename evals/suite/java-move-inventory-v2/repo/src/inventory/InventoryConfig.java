package inventory;

/** Where this service reads its datasets. */
public final class InventoryConfig {
  public static final String SNAPSHOT_PATH = "warehouse/inventory/v1/snapshot.csv";

  private InventoryConfig() {}
}
