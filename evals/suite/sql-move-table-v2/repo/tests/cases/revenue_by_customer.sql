SELECT customer, revenue_cents, orders FROM revenue_by_customer ORDER BY customer;
