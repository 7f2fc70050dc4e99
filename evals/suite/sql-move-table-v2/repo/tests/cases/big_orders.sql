SELECT order_id, customer, placed FROM big_orders ORDER BY order_id;
