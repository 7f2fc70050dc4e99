package catalog;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Prices from rows of the products dataset (column name to value). */
public final class PriceList {
  private PriceList() {}

  /** Price in cents per product code, for the rows that are on sale. */
  public static Map<String, Long> pricesByCode(List<Map<String, String>> rows) {
    Map<String, Long> prices = new TreeMap<>();
    for (Map<String, String> row : rows) {
      if (!"true".equals(row.get("on_sale"))) continue;
      prices.put(row.get("product_code"), Long.parseLong(row.get("price_cents")));
    }
    return prices;
  }

  /** The sum of the prices of the rows that are on sale. */
  public static long totalCents(List<Map<String, String>> rows) {
    long total = 0;
    for (Map<String, String> row : rows) {
      if ("true".equals(row.get("on_sale"))) total += Long.parseLong(row.get("price_cents"));
    }
    return total;
  }
}
