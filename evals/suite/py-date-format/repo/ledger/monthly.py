"""Monthly revenue from payments rows."""
from ledger.dates import paid_day


def revenue_by_month(rows):
    """{"YYYY-MM": sum of amount_cents}."""
    months = {}
    for row in rows:
        month = paid_day(row).strftime("%Y-%m")
        months[month] = months.get(month, 0) + row["amount_cents"]
    return months
