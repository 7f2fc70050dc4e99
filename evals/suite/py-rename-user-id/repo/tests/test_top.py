import unittest

from listens.top import total_plays


class TotalPlaysTest(unittest.TestCase):
    def test_counts_only_plays(self):
        rows = [
            {"user_id": "u1", "event": "play"},
            {"user_id": "u2", "event": "skip"},
            {"user_id": "u1", "event": "play"},
        ]
        self.assertEqual(total_plays(rows), 2)

    def test_empty(self):
        self.assertEqual(total_plays([]), 0)


if __name__ == "__main__":
    unittest.main()
