import unittest

from billing.invoices import invoice_run, totals_by_customer

ORDERS = [
    {"order_id": 10, "customer_id": 42, "amount_cents": 1250},
    {"order_id": 11, "customer_id": 900001, "amount_cents": 99},
    {"order_id": 12, "customer_id": 42, "amount_cents": 5},
]


class IntegerCustomerIdTest(unittest.TestCase):
    def test_totals_keyed_by_integer_id(self):
        self.assertEqual(totals_by_customer(ORDERS), {42: 1255, 900001: 99})

    def test_invoice_lines(self):
        self.assertEqual(
            invoice_run(ORDERS), ["customer 000042: 12.55", "customer 900001: 0.99"]
        )

    def test_old_string_form_is_rejected(self):
        for bad in ("C-000042", "42", None, True, 4.0):
            with self.subTest(bad=bad), self.assertRaises(ValueError) as raised:
                totals_by_customer([{"order_id": 1, "customer_id": bad, "amount_cents": 1}])
            self.assertIn(repr(bad), str(raised.exception))
