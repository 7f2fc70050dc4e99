PLAYLIST_EVENTS_PATH = "warehouse://playlist_events/v1"


def listener_panel(events):
    return sorted({e["user_id"] for e in events})
