package reports;

import java.util.Map;
import java.util.TreeMap;
import warehouse.LegacyWarehouse;
import warehouse.Source;

/** Revenue per country from the sales dataset. */
public final class Revenue {
  private Revenue() {}

  public static Map<String, Long> byCountry(Source source) {
    Map<String, Long> totals = new TreeMap<>();
    for (Map<String, String> row : new LegacyWarehouse(source).query("sales")) {
      totals.merge(row.get("country"), Long.parseLong(row.get("amount_cents")), Long::sum);
    }
    return totals;
  }
}
