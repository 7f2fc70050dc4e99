import os
import unittest

from stats import config
from stats.plays import load_events, plays_per_user

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "playlist_events.jsonl")


class PlaysTest(unittest.TestCase):
    def test_counts_plays_per_user(self):
        with open(FIXTURE) as f:
            events = load_events(f)
        self.assertEqual(plays_per_user(events), {"u1": 2, "u2": 1})

    def test_reads_playlist_events(self):
        self.assertTrue(config.PLAYLIST_EVENTS_PATH.startswith("warehouse://playlist_events/"))


if __name__ == "__main__":
    unittest.main()
