CREATE TABLE signups (account_id TEXT NOT NULL, signup_day TEXT NOT NULL);
INSERT INTO signups VALUES
  ('a1', '30/10/2026'),
  ('a2', '01/11/2026'),
  ('a3', '23/11/2026'),
  ('a4', '29/11/2026');
