"""Joins churned accounts with their plans."""
from churn.inactive import inactive_since
from warehouse import legacy


def churned_by_plan(source, day):
    """{plan: number of inactive accounts} for accounts inactive since `day`."""
    plans = {row["account_id"]: row["plan"] for row in legacy.fetch_all(source, "accounts")}
    counts = {}
    for account in inactive_since(source, day):
        plan = plans.get(account, "unknown")
        counts[plan] = counts.get(plan, 0) + 1
    return counts
