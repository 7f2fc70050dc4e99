"""Dates as the payments dataset writes them: ISO 8601 UTC timestamps ("...T14:05:09Z")."""
from datetime import datetime, timezone


def paid_day(row):
    """The UTC day a payments row was paid on, as a datetime.date. ValueError when malformed."""
    paid = datetime.strptime(row["paid_on"], "%Y-%m-%dT%H:%M:%SZ")
    return paid.replace(tzinfo=timezone.utc).date()
