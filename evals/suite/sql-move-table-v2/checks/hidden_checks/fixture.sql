CREATE TABLE orders_v2 (order_id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount_cents INTEGER NOT NULL, placed TEXT NOT NULL);
INSERT INTO orders_v2 VALUES
  (10, 'initech', 10000, '2026-12-01'),
  (11, 'initech', 10001, '2026-12-01'),
  (12, 'umbrella', 5, '2026-12-02'),
  (13, 'umbrella', 990000, '2026-12-03'),
  (14, 'umbrella', 1, '2026-12-03');
