"""Groupings of `stores` rows for the regional reports."""
from collections import defaultdict


def label(store):
    """ "Harbour, Hamburg (DE)" """
    address = store["address"]
    return f"{store['name']}, {address['city']} ({address['country']})"


def by_country(stores):
    """Store ids per country code, each list sorted."""
    groups = defaultdict(list)
    for store in stores:
        groups[store["address"]["country"]].append(store["store_id"])
    return {country: sorted(ids) for country, ids in groups.items()}


def postal_area(store):
    """The first two characters of the postcode, e.g. "20"."""
    return store["address"]["postcode"][:2]
