import unittest

from dashboard.panels import listener_panel


class PanelsTest(unittest.TestCase):
    def test_listener_panel(self):
        # Broken on main since the panel started sorting: the expectation was never updated.
        self.assertEqual(listener_panel([{"user_id": "b"}, {"user_id": "a"}]), ["b", "a"])


if __name__ == "__main__":
    unittest.main()
