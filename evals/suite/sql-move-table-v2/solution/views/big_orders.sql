-- Orders of more than 100 euros.
CREATE VIEW big_orders AS
SELECT order_id, customer, placed
FROM orders_v2
WHERE amount_cents > 10000;
