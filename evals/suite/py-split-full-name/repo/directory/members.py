"""Formatting of `members` rows for the staff directory."""


def display_name(row):
    return row["full_name"]


def initials(row):
    return "".join(part[0].upper() for part in row["full_name"].split())


def sort_key(row):
    parts = row["full_name"].lower().split()
    return (parts[-1], " ".join(parts[:-1]))


def listing(rows):
    """The directory: one "Name (XY)" entry per member, sorted by family name."""
    return [f"{display_name(row)} ({initials(row)})" for row in sorted(rows, key=sort_key)]
