import unittest

from directory.members import display_name, initials

ADA = {"member_id": 1, "given_name": "Ada", "family_name": "Lovelace"}


class MembersTest(unittest.TestCase):
    def test_display_name(self):
        self.assertEqual(display_name(ADA), "Ada Lovelace")

    def test_initials(self):
        self.assertEqual(initials(ADA), "AL")


if __name__ == "__main__":
    unittest.main()
