-- Orders of more than 100 euros.
CREATE VIEW big_orders AS
SELECT order_id, customer, placed
FROM orders_v1
WHERE CAST(amount AS REAL) > 100;
