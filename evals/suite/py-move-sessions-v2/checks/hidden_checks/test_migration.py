import unittest

from sessions.backfill import backfill, missing_days
from sessions.daily import bounce_rate, sessions_on

V2 = "warehouse://analytics/sessions/v2"


class V2Reader:
    """Serves partitions only at the v2 location and records every location asked for."""

    def __init__(self, partitions):
        self.partitions = partitions
        self.asked = set()

    def read(self, location, partition):
        self.asked.add(location)
        if location != V2:
            raise LookupError(f"no such dataset: {location}")
        return self.partitions.get(partition, [])


PARTITIONS = {
    "2026-11-01": [{"page_views": 1}, {"page_views": 3}, {"page_views": 1}, {"page_views": 2}],
    "2026-11-03": [{"page_views": 1}],
}


class SessionsV2Test(unittest.TestCase):
    def test_daily_reads_v2(self):
        reader = V2Reader(PARTITIONS)
        self.assertEqual(sessions_on(reader, "2026-11-01"), 4)
        self.assertEqual(bounce_rate(reader, "2026-11-01"), 0.5)
        self.assertEqual(reader.asked, {V2})

    def test_backfill_reads_v2(self):
        reader = V2Reader(PARTITIONS)
        days = ["2026-11-01", "2026-11-02", "2026-11-03"]
        self.assertEqual(missing_days(reader, days), ["2026-11-02"])
        self.assertEqual(backfill(reader, days), {"2026-11-01": 0.5, "2026-11-03": 1.0})
        self.assertEqual(reader.asked, {V2})
