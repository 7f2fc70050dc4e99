import unittest

from ledger.late import late_payments
from ledger.monthly import revenue_by_month

ROWS = [
    {"payment_id": 1, "paid_on": "30/10/2026", "due": "2026-10-31", "amount_cents": 1000},
    {"payment_id": 2, "paid_on": "02/11/2026", "due": "2026-10-31", "amount_cents": 250},
    {"payment_id": 3, "paid_on": "23/11/2026", "due": "2026-11-30", "amount_cents": 400},
]


class LedgerTest(unittest.TestCase):
    def test_revenue_by_month(self):
        self.assertEqual(revenue_by_month(ROWS), {"2026-10": 1000, "2026-11": 650})

    def test_late_payments(self):
        self.assertEqual(late_payments(ROWS), [2])


if __name__ == "__main__":
    unittest.main()
