SELECT session_id, app_version FROM outdated_apps ORDER BY session_id;
