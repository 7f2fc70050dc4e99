import java.util.List;
import java.util.Map;
import orders.Loyalty;
import orders.Order;
import orders.OrderReader;

public final class MigrationCheck {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  private static boolean rejects(String line) {
    try {
      OrderReader.parse(line);
      return false;
    } catch (IllegalArgumentException e) {
      return e.getMessage() != null && e.getMessage().contains(line);
    }
  }

  public static void main(String[] args) {
    Order order = OrderReader.parse("10,420000000001,1999");
    long customer = order.customerId();
    check(customer == 420000000001L, "customerId is the long number");

    List<Order> orders = OrderReader.parseAll(List.of("1,42,1250", "2,7,399", "3,42,900"));
    Map<Long, Long> points = Loyalty.pointsByCustomer(orders);
    check(points.equals(Map.of(42L, 21L, 7L, 3L)), "points keyed by long id: " + points);

    check(rejects("5,C-000042,100"), "the old form is rejected, naming the line");
    check(rejects("6,-3,100"), "a negative id is rejected");
    check(rejects("7,,100"), "an empty id is rejected");
    if (failures > 0) System.exit(1);
  }
}
