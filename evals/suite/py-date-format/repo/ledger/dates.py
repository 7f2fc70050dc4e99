"""Dates as the payments dataset writes them."""
from datetime import datetime


def paid_day(row):
    """The day a payments row was paid on, as a datetime.date."""
    return datetime.strptime(row["paid_on"], "%d/%m/%Y").date()
