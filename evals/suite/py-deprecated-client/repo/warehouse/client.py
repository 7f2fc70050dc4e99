"""The warehouse client. `source` is anything with rows(dataset) -> iterable of dicts."""


class Client:
    def __init__(self, source):
        self._source = source

    def scan(self, dataset, columns):
        """An iterator over the rows of `dataset`, each a dict of just `columns`."""
        wanted = list(columns)
        if not wanted:
            raise ValueError("scan needs at least one column")
        for row in self._source.rows(dataset):
            yield {column: row[column] for column in wanted}
