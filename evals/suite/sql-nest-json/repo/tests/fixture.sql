CREATE TABLE sessions (session_id INTEGER PRIMARY KEY, minutes INTEGER NOT NULL, device_os TEXT NOT NULL, app_version TEXT NOT NULL);
INSERT INTO sessions VALUES
  (1, 10, 'ios', '5.2.0'),
  (2, 4, 'android', '4.9.1'),
  (3, 7, 'ios', '4.10.0'),
  (4, 1, 'android', '5.0.0');
