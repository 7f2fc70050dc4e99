package reports;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import warehouse.Source;
import warehouse.WarehouseClient;

/** Revenue per country from the sales dataset. */
public final class Revenue {
  private Revenue() {}

  public static Map<String, Long> byCountry(Source source) {
    Map<String, Long> totals = new TreeMap<>();
    new WarehouseClient(source)
        .scan("sales", List.of("country", "amount_cents"))
        .forEach(row -> totals.merge(row.get("country"), Long.parseLong(row.get("amount_cents")), Long::sum));
    return totals;
  }
}
