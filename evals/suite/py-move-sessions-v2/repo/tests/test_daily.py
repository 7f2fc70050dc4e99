import unittest

from sessions.daily import bounce_rate, sessions_on


class Reader:
    """Serves the same rows for any location, like the staging warehouse."""

    def __init__(self, partitions):
        self.partitions = partitions

    def read(self, location, partition):
        return self.partitions.get(partition, [])


class DailyTest(unittest.TestCase):
    def test_sessions_on(self):
        reader = Reader({"2026-11-01": [{"page_views": 1}, {"page_views": 4}]})
        self.assertEqual(sessions_on(reader, "2026-11-01"), 2)
        self.assertEqual(sessions_on(reader, "2026-11-02"), 0)

    def test_bounce_rate(self):
        reader = Reader({"2026-11-01": [{"page_views": 1}, {"page_views": 4}]})
        self.assertEqual(bounce_rate(reader, "2026-11-01"), 0.5)
        self.assertEqual(bounce_rate(reader, "2026-11-02"), 0.0)


if __name__ == "__main__":
    unittest.main()
