"""Where this service reads its datasets."""

SESSIONS = "warehouse://web/sessions/v1"
