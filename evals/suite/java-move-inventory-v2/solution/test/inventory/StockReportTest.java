package inventory;

import java.util.List;
import java.util.Map;

public final class StockReportTest {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) {
    Storage storage = path -> {
      if (!path.equals("lake/inventory/v2/snapshot/part-0.csv")) throw new IllegalArgumentException("no file " + path);
      return List.of("sku,warehouse,units", "A-1,hamburg,5", "B-2,hamburg,1", "A-1,lyon,7", "");
    };
    check(StockReport.unitsBySku(storage).equals(Map.of("A-1", 12L, "B-2", 1L)), "units by sku");
    if (failures > 0) System.exit(1);
  }
}
