-- Sessions and minutes per device operating system.
CREATE VIEW sessions_by_os AS
SELECT device_os AS os, COUNT(*) AS sessions, SUM(minutes) AS minutes
FROM sessions
GROUP BY device_os;
