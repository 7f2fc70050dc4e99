CREATE TABLE events (account_id TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL);
INSERT INTO events VALUES
  ('a9', '2026-12-01', 'play'),
  ('a9', '2026-12-02', 'play'),
  ('a9', '2026-12-04', 'play'),
  ('a9', '2026-12-04', 'like'),
  ('a2', '2026-12-01', 'play'),
  ('a2', '2026-12-02', 'skip'),
  ('a2', '2026-12-03', 'play'),
  ('a5', '2026-12-04', 'play');
