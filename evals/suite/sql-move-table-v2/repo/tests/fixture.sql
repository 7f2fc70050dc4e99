CREATE TABLE orders_v1 (order_id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount TEXT NOT NULL, placed TEXT NOT NULL);
INSERT INTO orders_v1 VALUES
  (1, 'acme', '12.50', '2026-11-01'),
  (2, 'acme', '250.00', '2026-11-02'),
  (3, 'globex', '99.99', '2026-11-02'),
  (4, 'globex', '100.01', '2026-11-03');
