"""Invoices from rows of the `orders` dataset."""
from billing.ids import customer_number


def totals_by_customer(orders):
    """Sum of amount_cents per customer number."""
    totals = {}
    for row in orders:
        key = customer_number(row["customer_id"])
        totals[key] = totals.get(key, 0) + row["amount_cents"]
    return totals


def invoice_line(customer, cents):
    """One line of an invoice run, e.g. "customer 000042: 12.50"."""
    return f"customer {customer:06d}: {cents / 100:.2f}"


def invoice_run(orders):
    """Invoice lines for every customer, ordered by customer number."""
    totals = totals_by_customer(orders)
    return [invoice_line(customer, totals[customer]) for customer in sorted(totals)]
