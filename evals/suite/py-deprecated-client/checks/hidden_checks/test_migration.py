import unittest
import warnings

from churn.inactive import inactive_since, last_login
from churn.plans import churned_by_plan


class Source:
    """Rows carry extra columns; records which datasets were read."""

    def __init__(self, tables):
        self.tables = tables
        self.read = []

    def rows(self, dataset):
        self.read.append(dataset)
        return iter(self.tables[dataset])


TABLES = {
    "logins": [
        {"account_id": "b1", "day": "2026-08-01", "device": "web", "ip": "203.0.113.9"},
        {"account_id": "b2", "day": "2026-11-02", "device": "ios", "ip": "203.0.113.7"},
        {"account_id": "b1", "day": "2026-08-09", "device": "web", "ip": "203.0.113.9"},
    ],
    "accounts": [
        {"account_id": "b1", "plan": "student", "country": "NO"},
        {"account_id": "b2", "plan": "solo", "country": "NO"},
    ],
}


class ScanTest(unittest.TestCase):
    def setUp(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("error", DeprecationWarning)

    def tearDown(self):
        self._warnings.__exit__(None, None, None)

    def test_last_login_without_deprecated_api(self):
        self.assertEqual(last_login(Source(TABLES)), {"b1": "2026-08-09", "b2": "2026-11-02"})

    def test_inactive_and_plans_without_deprecated_api(self):
        source = Source(TABLES)
        self.assertEqual(inactive_since(source, "2026-10-01"), ["b1"])
        self.assertEqual(churned_by_plan(source, "2026-10-01"), {"student": 1})
        self.assertIn("accounts", source.read)

    def test_asks_only_for_used_columns(self):
        from warehouse import client

        asked = []
        original = client.Client.scan

        def recording(self, dataset, columns):
            asked.append((dataset, sorted(columns)))
            return original(self, dataset, columns)

        client.Client.scan = recording
        try:
            churned_by_plan(Source(TABLES), "2026-10-01")
        finally:
            client.Client.scan = original
        self.assertIn(("logins", ["account_id", "day"]), asked)
        self.assertIn(("accounts", ["account_id", "plan"]), asked)
