package reports;

import java.util.List;
import java.util.Map;
import warehouse.Source;

public final class ReportsTest {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) {
    List<Map<String, String>> sales = List.of(
        Map.of("product_id", "p1", "country", "SE", "units", "2", "amount_cents", "500"),
        Map.of("product_id", "p2", "country", "NO", "units", "5", "amount_cents", "250"),
        Map.of("product_id", "p1", "country", "NO", "units", "1", "amount_cents", "250"));
    Source source = dataset -> sales;
    check(Revenue.byCountry(source).equals(Map.of("NO", 500L, "SE", 500L)), "revenue by country");
    check(TopProducts.top(source, 1).equals(List.of("p2")), "top product");
    check(TopProducts.top(source, 5).equals(List.of("p2", "p1")), "top products");
    if (failures > 0) System.exit(1);
  }
}
