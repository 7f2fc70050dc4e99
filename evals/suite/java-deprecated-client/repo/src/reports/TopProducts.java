package reports;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import warehouse.LegacyWarehouse;
import warehouse.Source;

/** The best-selling products of the sales dataset. */
public final class TopProducts {
  private TopProducts() {}

  /** Up to `n` product ids, most units sold first, ties by id. */
  public static List<String> top(Source source, int n) {
    Map<String, Long> units = new HashMap<>();
    for (Map<String, String> row : new LegacyWarehouse(source).query("sales")) {
      units.merge(row.get("product_id"), Long.parseLong(row.get("units")), Long::sum);
    }
    List<String> ids = new ArrayList<>(units.keySet());
    ids.sort((a, b) -> units.get(a).equals(units.get(b)) ? a.compareTo(b) : Long.compare(units.get(b), units.get(a)));
    return ids.subList(0, Math.min(n, ids.size()));
  }
}
