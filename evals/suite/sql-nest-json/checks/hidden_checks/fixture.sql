CREATE TABLE sessions (session_id INTEGER PRIMARY KEY, minutes INTEGER NOT NULL, context TEXT NOT NULL);
INSERT INTO sessions VALUES
  (20, 3, '{"device": {"os": "web", "model": "firefox"}, "app": {"version": "12.0.1"}}'),
  (21, 5, '{"device": {"os": "ios", "model": "iPad13,1"}, "app": {"version": "3.1.0"}}'),
  (22, 9, '{"device": {"os": "web", "model": "chrome"}, "app": {"version": "4.99.9"}}'),
  (23, 2, '{"app": {"version": "5.0.0"}, "device": {"os": "ios"}}');
