package orders;

/** One row of the orders export. */
public record Order(long orderId, long customerId, long amountCents) {}
