-- Revenue per customer, in cents.
CREATE VIEW revenue_by_customer AS
SELECT customer, CAST(ROUND(SUM(CAST(amount AS REAL)) * 100) AS INTEGER) AS revenue_cents,
       COUNT(*) AS orders
FROM orders_v1
GROUP BY customer;
