package orders;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Loyalty points: one point per whole euro spent. */
public final class Loyalty {
  private Loyalty() {}

  public static Map<Long, Long> pointsByCustomer(List<Order> orders) {
    Map<Long, Long> points = new TreeMap<>();
    for (Order order : orders) {
      points.merge(order.customerId(), order.amountCents() / 100, Long::sum);
    }
    return points;
  }
}
