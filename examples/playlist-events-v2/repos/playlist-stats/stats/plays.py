"""Play counts from playlist_events rows."""

import json


def load_events(lines):
    return [json.loads(line) for line in lines if line.strip()]


def plays_per_user(events):
    counts = {}
    for event in events:
        key = event["user_id"]
        counts[key] = counts.get(key, 0) + 1
    return counts
