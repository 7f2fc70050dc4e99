package inventory;

import java.util.Map;
import java.util.TreeMap;

/** Stock figures from the inventory snapshot ("sku,warehouse,units" lines). */
public final class StockReport {
  private StockReport() {}

  /** Units per sku over all warehouses. */
  public static Map<String, Long> unitsBySku(Storage storage) {
    Map<String, Long> units = new TreeMap<>();
    for (String line : storage.lines(InventoryConfig.SNAPSHOT_PATH)) {
      if (line.isBlank()) continue;
      String[] fields = line.split(",");
      if (fields.length != 3) throw new IllegalArgumentException("malformed snapshot line: \"" + line + "\"");
      units.merge(fields[0], Long.parseLong(fields[2]), Long::sum);
    }
    return units;
  }
}
