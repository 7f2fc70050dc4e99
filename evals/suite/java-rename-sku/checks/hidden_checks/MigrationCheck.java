import catalog.PriceList;
import java.util.List;
import java.util.Map;

public final class MigrationCheck {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) {
    List<Map<String, String>> rows = List.of(
        Map.of("product_code", "P-10", "price_cents", "999", "on_sale", "true"),
        Map.of("product_code", "P-11", "price_cents", "5", "on_sale", "false"),
        Map.of("product_code", "P-12", "price_cents", "120", "on_sale", "true"));
    Map<String, Long> prices = PriceList.pricesByCode(rows);
    check(prices.equals(Map.of("P-10", 999L, "P-12", 120L)), "pricesByCode keyed by product_code: " + prices);
    if (failures > 0) System.exit(1);
  }
}
