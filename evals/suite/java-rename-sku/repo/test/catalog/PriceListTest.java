package catalog;

import java.util.List;
import java.util.Map;

public final class PriceListTest {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) {
    List<Map<String, String>> rows = List.of(
        Map.of("sku", "A-1", "price_cents", "250", "on_sale", "true"),
        Map.of("sku", "B-2", "price_cents", "1000", "on_sale", "false"),
        Map.of("sku", "C-3", "price_cents", "75", "on_sale", "true"));
    check(PriceList.totalCents(rows) == 325, "totalCents counts rows on sale");
    check(PriceList.totalCents(List.of()) == 0, "totalCents of nothing");
    if (failures > 0) System.exit(1);
  }
}
