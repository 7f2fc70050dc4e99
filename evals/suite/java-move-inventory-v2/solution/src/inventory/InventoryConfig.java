package inventory;

/** Where this service reads its datasets. */
public final class InventoryConfig {
  public static final String SNAPSHOT_PATH = "lake/inventory/v2/snapshot/part-0.csv";

  private InventoryConfig() {}
}
