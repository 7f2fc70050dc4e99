"""Where this service reads its datasets."""

SESSIONS = "warehouse://analytics/sessions/v2"
