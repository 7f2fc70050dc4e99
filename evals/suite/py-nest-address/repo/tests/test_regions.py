import unittest

from stores.regions import by_country, label

STORES = [
    {"store_id": 7, "name": "Harbour", "city": "Hamburg", "postcode": "20457", "country": "DE"},
    {"store_id": 3, "name": "Canal", "city": "Utrecht", "postcode": "3511", "country": "NL"},
    {"store_id": 5, "name": "Alster", "city": "Hamburg", "postcode": "20095", "country": "DE"},
]


class RegionsTest(unittest.TestCase):
    def test_label(self):
        self.assertEqual(label(STORES[0]), "Harbour, Hamburg (DE)")

    def test_by_country(self):
        self.assertEqual(by_country(STORES), {"DE": [5, 7], "NL": [3]})


if __name__ == "__main__":
    unittest.main()
