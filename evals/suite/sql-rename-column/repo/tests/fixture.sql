CREATE TABLE events (user_id TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL);
INSERT INTO events VALUES
  ('u1', '2026-11-01', 'play'),
  ('u1', '2026-11-02', 'play'),
  ('u1', '2026-11-03', 'skip'),
  ('u2', '2026-11-01', 'play'),
  ('u2', '2026-11-01', 'play'),
  ('u3', '2026-11-03', 'like');
