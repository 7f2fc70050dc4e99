"""Profiles come from the accounts dataset; user_id here is the accounts key."""

ACCOUNTS_PATH = "warehouse://accounts/v3"


def display_name(profile):
    return profile.get("name") or profile["user_id"]
