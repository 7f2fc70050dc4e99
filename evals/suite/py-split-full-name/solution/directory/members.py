"""Formatting of `members` rows for the staff directory."""


def display_name(row):
    return f"{row['given_name']} {row['family_name']}"


def initials(row):
    return (row["given_name"][:1] + row["family_name"][:1]).upper()


def sort_key(row):
    return (row["family_name"].lower(), row["given_name"].lower())


def listing(rows):
    """The directory: one "Name (XY)" entry per member, sorted by family name."""
    return [f"{display_name(row)} ({initials(row)})" for row in sorted(rows, key=sort_key)]
