"""The old API. Deprecated: use warehouse.client.Client.scan."""
import warnings


def fetch_all(source, dataset):
    """Every row of `dataset` as a list of dicts, all columns."""
    warnings.warn(
        "warehouse.legacy.fetch_all is deprecated; use warehouse.client.Client(source).scan",
        DeprecationWarning,
        stacklevel=2,
    )
    return [dict(row) for row in source.rows(dataset)]
