"""Where playlist-stats reads its inputs."""

PLAYLIST_EVENTS_PATH = "warehouse://playlist_events/v1"
