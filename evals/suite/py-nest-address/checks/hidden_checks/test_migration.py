import unittest

from stores.regions import by_country, label, postal_area


def store(store_id, name, city, postcode, country):
    return {"store_id": store_id, "name": name,
            "address": {"city": city, "postcode": postcode, "country": country}}


STORES = [
    store(11, "Quay", "Lyon", "69002", "FR"),
    store(4, "Dock", "Antwerp", "2000", "BE"),
    store(2, "Rive", "Paris", "75004", "FR"),
]


class NestedAddressTest(unittest.TestCase):
    def test_label(self):
        self.assertEqual(label(STORES[1]), "Dock, Antwerp (BE)")

    def test_by_country(self):
        self.assertEqual(by_country(STORES), {"FR": [2, 11], "BE": [4]})

    def test_postal_area(self):
        self.assertEqual(postal_area(STORES[0]), "69")
