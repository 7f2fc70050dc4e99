CREATE TABLE sessions (session_id INTEGER PRIMARY KEY, minutes INTEGER NOT NULL, context TEXT NOT NULL);
INSERT INTO sessions VALUES
  (1, 10, '{"device": {"os": "ios", "model": "iPhone15,2"}, "app": {"version": "5.2.0"}}'),
  (2, 4, '{"device": {"os": "android", "model": "Pixel 8"}, "app": {"version": "4.9.1"}}'),
  (3, 7, '{"device": {"os": "ios", "model": "iPhone12,1"}, "app": {"version": "4.10.0"}}'),
  (4, 1, '{"device": {"os": "android", "model": "Pixel 6"}, "app": {"version": "5.0.0"}}');
