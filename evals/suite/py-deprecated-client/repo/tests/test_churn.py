import unittest

from churn.inactive import inactive_since
from churn.plans import churned_by_plan


class Source:
    def __init__(self, tables):
        self.tables = tables

    def rows(self, dataset):
        return iter(self.tables[dataset])


TABLES = {
    "logins": [
        {"account_id": "a1", "day": "2026-10-01", "device": "web"},
        {"account_id": "a2", "day": "2026-11-20", "device": "ios"},
        {"account_id": "a1", "day": "2026-10-15", "device": "web"},
        {"account_id": "a3", "day": "2026-09-30", "device": "android"},
    ],
    "accounts": [
        {"account_id": "a1", "plan": "family", "country": "SE"},
        {"account_id": "a2", "plan": "solo", "country": "SE"},
    ],
}


class ChurnTest(unittest.TestCase):
    def test_inactive_since(self):
        self.assertEqual(inactive_since(Source(TABLES), "2026-11-01"), ["a1", "a3"])

    def test_churned_by_plan(self):
        self.assertEqual(churned_by_plan(Source(TABLES), "2026-11-01"), {"family": 1, "unknown": 1})


if __name__ == "__main__":
    unittest.main()
