"""Groupings of `stores` rows for the regional reports."""
from collections import defaultdict


def label(store):
    """ "Harbour, Hamburg (DE)" """
    return f"{store['name']}, {store['city']} ({store['country']})"


def by_country(stores):
    """Store ids per country code, each list sorted."""
    groups = defaultdict(list)
    for store in stores:
        groups[store["country"]].append(store["store_id"])
    return {country: sorted(ids) for country, ids in groups.items()}


def postal_area(store):
    """The first two characters of the postcode, e.g. "20"."""
    return store["postcode"][:2]
