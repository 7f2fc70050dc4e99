-- Sessions on app versions older than 5.0 (major version below 5).
CREATE VIEW outdated_apps AS
SELECT session_id, app_version
FROM sessions
WHERE CAST(substr(app_version, 1, instr(app_version, '.') - 1) AS INTEGER) < 5;
