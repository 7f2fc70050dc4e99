import inventory.StockReport;
import inventory.Storage;
import java.util.List;
import java.util.Map;

public final class MigrationCheck {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) {
    Storage lake = path -> {
      if (!path.equals("lake/inventory/v2/snapshot/part-0.csv")) throw new IllegalArgumentException("no file " + path);
      return List.of("sku,warehouse,units", "Z-9,oslo,3", "Z-9,bergen,4", "Y-1,oslo,0");
    };
    try {
      Map<String, Long> units = StockReport.unitsBySku(lake);
      check(units.equals(Map.of("Z-9", 7L, "Y-1", 0L)), "units from the v2 snapshot, header skipped: " + units);
    } catch (RuntimeException e) {
      check(false, "reading the v2 snapshot: " + e);
    }
    if (failures > 0) System.exit(1);
  }
}
