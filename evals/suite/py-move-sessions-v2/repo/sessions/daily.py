"""Daily session figures. `reader.read(location, partition)` returns that partition's rows."""
from sessions import config


def sessions_on(reader, day):
    """Number of sessions on `day` ("YYYY-MM-DD")."""
    return len(reader.read(config.SESSIONS, day))


def bounce_rate(reader, day):
    """Share of the day's sessions with a single page view, 0.0 when there are none."""
    rows = reader.read(config.SESSIONS, day)
    if not rows:
        return 0.0
    return sum(1 for row in rows if row["page_views"] == 1) / len(rows)
