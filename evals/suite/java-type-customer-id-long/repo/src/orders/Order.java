package orders;

/** One row of the orders export. */
public record Order(long orderId, String customerId, long amountCents) {}
