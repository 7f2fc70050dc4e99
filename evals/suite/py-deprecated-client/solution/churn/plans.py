"""Joins churned accounts with their plans."""
from churn.inactive import inactive_since
from warehouse.client import Client


def churned_by_plan(source, day):
    """{plan: number of inactive accounts} for accounts inactive since `day`."""
    rows = Client(source).scan("accounts", columns=["account_id", "plan"])
    plans = {row["account_id"]: row["plan"] for row in rows}
    counts = {}
    for account in inactive_since(source, day):
        plan = plans.get(account, "unknown")
        counts[plan] = counts.get(plan, 0) + 1
    return counts
