package inventory;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Stock figures from the inventory snapshot: a "sku,warehouse,units" header, then rows. */
public final class StockReport {
  private static final String HEADER = "sku,warehouse,units";

  private StockReport() {}

  /** Units per sku over all warehouses. */
  public static Map<String, Long> unitsBySku(Storage storage) {
    List<String> lines = storage.lines(InventoryConfig.SNAPSHOT_PATH);
    if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
      throw new IllegalArgumentException("snapshot does not start with the header " + HEADER);
    }
    Map<String, Long> units = new TreeMap<>();
    for (String line : lines.subList(1, lines.size())) {
      if (line.isBlank()) continue;
      String[] fields = line.split(",");
      if (fields.length != 3) throw new IllegalArgumentException("malformed snapshot line: \"" + line + "\"");
      units.merge(fields[0], Long.parseLong(fields[2]), Long::sum);
    }
    return units;
  }
}
