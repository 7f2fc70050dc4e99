CREATE TABLE signups (account_id TEXT NOT NULL, signup_day TEXT NOT NULL);
INSERT INTO signups VALUES
  ('a1', '2026-10-30'),
  ('a2', '2026-11-01'),
  ('a3', '2026-11-23'),
  ('a4', '2026-11-29');
