import os
import sqlite3
import unittest

ROOT = os.path.dirname(os.path.dirname(__file__))
ROWS = [("u1", "p1", "play"), ("u2", "p1", "play"), ("u1", "p2", "play"), ("u2", "p3", "skip")]


def run_query(name, id_column):
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE playlist_events ({id_column} TEXT, playlist_id TEXT, action TEXT)")
    db.executemany("INSERT INTO playlist_events VALUES (?, ?, ?)", ROWS)
    with open(os.path.join(ROOT, "queries", name)) as f:
        return db.execute(f.read()).fetchall()


def source_version(name):
    with open(os.path.join(ROOT, "queries", name)) as f:
        first = f.readline()
    return first.rsplit("/", 1)[-1].strip()


class QueriesTest(unittest.TestCase):
    def test_top_listeners(self):
        # The table is created with the column name of the dataset version the query reads.
        column = "account_id" if source_version("top_listeners.sql") == "v2" else "user_id"
        self.assertEqual(run_query("top_listeners.sql", column), [("u1", 2), ("u2", 1)])


if __name__ == "__main__":
    unittest.main()
