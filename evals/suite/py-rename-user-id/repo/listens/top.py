"""Aggregates over rows of the `listens` dataset (one dict per row)."""
from collections import Counter


def total_plays(rows):
    """How many rows are completed plays."""
    return sum(1 for row in rows if row["event"] == "play")


def top_listeners(rows, n=3):
    """The n listeners with the most plays, as (listener, plays) pairs, most plays first."""
    counts = Counter(row["user_id"] for row in rows if row["event"] == "play")
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
