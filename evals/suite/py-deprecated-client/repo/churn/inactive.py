"""Accounts that stopped logging in."""
from warehouse import legacy


def last_login(source):
    """{account_id: latest login day ("YYYY-MM-DD")} from the logins dataset."""
    latest = {}
    for row in legacy.fetch_all(source, "logins"):
        day = row["day"]
        if day > latest.get(row["account_id"], ""):
            latest[row["account_id"]] = day
    return latest


def inactive_since(source, day):
    """Sorted account ids whose last login is before `day`."""
    return sorted(account for account, last in last_login(source).items() if last < day)
