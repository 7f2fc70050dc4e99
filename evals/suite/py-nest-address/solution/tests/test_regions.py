import unittest

from stores.regions import by_country, label


def store(store_id, name, city, postcode, country):
    return {"store_id": store_id, "name": name,
            "address": {"city": city, "postcode": postcode, "country": country}}


STORES = [
    store(7, "Harbour", "Hamburg", "20457", "DE"),
    store(3, "Canal", "Utrecht", "3511", "NL"),
    store(5, "Alster", "Hamburg", "20095", "DE"),
]


class RegionsTest(unittest.TestCase):
    def test_label(self):
        self.assertEqual(label(STORES[0]), "Harbour, Hamburg (DE)")

    def test_by_country(self):
        self.assertEqual(by_country(STORES), {"DE": [5, 7], "NL": [3]})


if __name__ == "__main__":
    unittest.main()
