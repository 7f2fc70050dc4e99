package orders;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Parses the orders export: "order_id,customer_id,amount_cents" lines, no header. */
public final class OrderReader {
  private static final Pattern CUSTOMER = Pattern.compile("\\d{1,12}");

  private OrderReader() {}

  public static Order parse(String line) {
    String[] fields = line.split(",", -1);
    if (fields.length != 3 || !CUSTOMER.matcher(fields[1]).matches()) {
      throw new IllegalArgumentException("malformed orders line: \"" + line + "\"");
    }
    try {
      return new Order(
          Long.parseLong(fields[0]), Long.parseLong(fields[1]), Long.parseLong(fields[2]));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("malformed orders line: \"" + line + "\"", e);
    }
  }

  public static List<Order> parseAll(List<String> lines) {
    List<Order> orders = new ArrayList<>();
    for (String line : lines) {
      if (!line.isBlank()) orders.add(parse(line));
    }
    return orders;
  }
}
