import unittest

from directory.members import display_name, initials, listing, sort_key

GUIDO = {"member_id": 1, "given_name": "Guido", "family_name": "van Rossum"}
ADA = {"member_id": 2, "given_name": "Ada", "family_name": "Lovelace"}
GRACE = {"member_id": 3, "given_name": "Grace", "family_name": "Hopper"}
ALAN = {"member_id": 4, "given_name": "alan", "family_name": "Turing"}


class SplitNameTest(unittest.TestCase):
    def test_display_name(self):
        self.assertEqual(display_name(GUIDO), "Guido van Rossum")

    def test_initials_use_both_fields(self):
        self.assertEqual(initials(GUIDO), "GV")
        self.assertEqual(initials(ALAN), "AT")

    def test_sorted_by_whole_family_name(self):
        self.assertEqual(sort_key(GUIDO)[0], "van rossum")
        self.assertEqual(
            listing([GUIDO, ADA, ALAN, GRACE]),
            ["Grace Hopper (GH)", "Ada Lovelace (AL)", "alan Turing (AT)",
             "Guido van Rossum (GV)"],
        )
