-- Sessions and minutes per device operating system.
CREATE VIEW sessions_by_os AS
SELECT json_extract(context, '$.device.os') AS os, COUNT(*) AS sessions, SUM(minutes) AS minutes
FROM sessions
GROUP BY os;
