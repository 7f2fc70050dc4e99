import unittest

from listens.top import top_listeners

ROWS = [
    {"account_id": "a2", "event": "play"},
    {"account_id": "a1", "event": "play"},
    {"account_id": "a2", "event": "play"},
    {"account_id": "a3", "event": "skip"},
    {"account_id": "a1", "event": "play"},
    {"account_id": "a4", "event": "play"},
]


class AccountIdTest(unittest.TestCase):
    def test_top_listeners_reads_account_id(self):
        self.assertEqual(top_listeners(ROWS, n=2), [("a1", 2), ("a2", 2)])

    def test_skips_are_not_plays(self):
        self.assertNotIn("a3", [who for who, _ in top_listeners(ROWS, n=10)])
