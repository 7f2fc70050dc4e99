import unittest

from billing.invoices import invoice_run, totals_by_customer

ORDERS = [
    {"order_id": 1, "customer_id": 42, "amount_cents": 1250},
    {"order_id": 2, "customer_id": 7, "amount_cents": 300},
    {"order_id": 3, "customer_id": 42, "amount_cents": 50},
]


class InvoicesTest(unittest.TestCase):
    def test_totals(self):
        self.assertEqual(totals_by_customer(ORDERS), {42: 1300, 7: 300})

    def test_invoice_run(self):
        self.assertEqual(
            invoice_run(ORDERS), ["customer 000007: 3.00", "customer 000042: 13.00"]
        )

    def test_malformed_id(self):
        with self.assertRaises(ValueError):
            totals_by_customer([{"order_id": 4, "customer_id": "42", "amount_cents": 1}])


if __name__ == "__main__":
    unittest.main()
