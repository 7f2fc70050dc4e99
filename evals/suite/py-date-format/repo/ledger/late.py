"""Payments made after their due day."""
from datetime import date

from ledger.dates import paid_day


def late_payments(rows):
    """Ids of the rows paid after `due` ("YYYY-MM-DD"), in input order."""
    return [row["payment_id"] for row in rows if paid_day(row) > date.fromisoformat(row["due"])]
