-- Revenue per customer, in cents.
CREATE VIEW revenue_by_customer AS
SELECT customer, SUM(amount_cents) AS revenue_cents, COUNT(*) AS orders
FROM orders_v2
GROUP BY customer;
