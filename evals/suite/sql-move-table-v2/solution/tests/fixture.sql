CREATE TABLE orders_v2 (order_id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount_cents INTEGER NOT NULL, placed TEXT NOT NULL);
INSERT INTO orders_v2 VALUES
  (1, 'acme', 1250, '2026-11-01'),
  (2, 'acme', 25000, '2026-11-02'),
  (3, 'globex', 9999, '2026-11-02'),
  (4, 'globex', 10001, '2026-11-03');
