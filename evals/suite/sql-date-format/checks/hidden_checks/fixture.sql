CREATE TABLE signups (account_id TEXT NOT NULL, signup_day TEXT NOT NULL);
INSERT INTO signups VALUES
  ('b1', '2028-02-29'),
  ('b2', '2028-03-01'),
  ('b3', '2027-12-31'),
  ('b4', '2028-03-04');
