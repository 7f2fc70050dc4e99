import java.util.List;
import java.util.Map;
import reports.Revenue;
import reports.TopProducts;
import warehouse.Source;

public final class MigrationCheck {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  /** Rows with an extra column nobody should need; counts reads. */
  private static final class Sales implements Source {
    int reads = 0;

    public List<Map<String, String>> rows(String dataset) {
      reads++;
      if (!dataset.equals("sales")) throw new IllegalArgumentException("unknown dataset " + dataset);
      return List.of(
          Map.of("product_id", "x9", "country", "FI", "units", "3", "amount_cents", "900", "buyer_email", "a@example.com"),
          Map.of("product_id", "x1", "country", "FI", "units", "3", "amount_cents", "100", "buyer_email", "b@example.com"),
          Map.of("product_id", "x2", "country", "DK", "units", "1", "amount_cents", "40", "buyer_email", "c@example.com"));
    }
  }

  public static void main(String[] args) {
    Sales sales = new Sales();
    try {
      check(Revenue.byCountry(sales).equals(Map.of("FI", 1000L, "DK", 40L)), "revenue by country through scan");
      check(TopProducts.top(sales, 2).equals(List.of("x1", "x9")), "top products through scan, ties by id");
    } catch (UnsupportedOperationException e) {
      check(false, "still calls the removed API: " + e.getMessage());
    }
    check(sales.reads >= 2, "the reports read the sales dataset");
    if (failures > 0) System.exit(1);
  }
}
