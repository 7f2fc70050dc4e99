import unittest

from accounts.profile import display_name


class ProfileTest(unittest.TestCase):
    def test_falls_back_to_id(self):
        self.assertEqual(display_name({"user_id": "u9"}), "u9")


if __name__ == "__main__":
    unittest.main()
