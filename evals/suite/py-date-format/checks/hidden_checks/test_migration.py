import unittest

from ledger.late import late_payments
from ledger.monthly import revenue_by_month

ROWS = [
    {"payment_id": 7, "paid_on": "2026-01-31T23:59:59Z", "due": "2026-01-31", "amount_cents": 5},
    {"payment_id": 8, "paid_on": "2026-02-01T00:00:00Z", "due": "2026-01-31", "amount_cents": 7},
    {"payment_id": 9, "paid_on": "2026-02-12T08:30:00Z", "due": "2026-02-28", "amount_cents": 11},
]


class IsoTimestampTest(unittest.TestCase):
    def test_months_from_timestamps(self):
        self.assertEqual(revenue_by_month(ROWS), {"2026-01": 5, "2026-02": 18})

    def test_late_by_utc_day(self):
        self.assertEqual(late_payments(ROWS), [8])

    def test_old_format_is_a_data_error(self):
        with self.assertRaises(ValueError):
            revenue_by_month([{"payment_id": 1, "paid_on": "23/11/2026", "due": "2026-11-30",
                               "amount_cents": 1}])
