"""The warehouse client library (a pinned copy of the in-house package)."""
