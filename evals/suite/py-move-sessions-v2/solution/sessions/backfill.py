"""Re-computes a range of days, e.g. after a late partition landed."""
from sessions import config
from sessions.daily import bounce_rate


def missing_days(reader, days):
    """The days in `days` whose sessions partition is empty."""
    return [day for day in days if not reader.read(config.SESSIONS, day)]


def backfill(reader, days):
    """{day: bounce rate} for each day that has sessions."""
    return {day: bounce_rate(reader, day) for day in days if day not in missing_days(reader, [day])}
