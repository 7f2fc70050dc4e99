package orders;

import java.util.List;
import java.util.Map;

public final class OrdersTest {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) {
    Order order = OrderReader.parse("1,C-000042,1250");
    check(order.customerId().equals("C-000042"), "parse reads the customer id");
    check(order.amountCents() == 1250, "parse reads the amount");

    List<Order> orders = OrderReader.parseAll(List.of("1,C-000042,1250", "2,C-000007,399", "", "3,C-000042,900"));
    check(Loyalty.pointsByCustomer(orders).equals(Map.of("C-000042", 21L, "C-000007", 3L)), "points per customer");

    boolean threw = false;
    try {
      OrderReader.parse("4,42");
    } catch (IllegalArgumentException e) {
      threw = e.getMessage().contains("4,42");
    }
    check(threw, "a short line is rejected, naming the line");
    if (failures > 0) System.exit(1);
  }
}
