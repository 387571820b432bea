"""Result rows and the published store.

``rows``: the tidy long table of one run (``RowWriter``) and its per-image scores. ``store``: the
published form (``rows.csv`` + ``fits.csv``, gzip past a size, upsert by group). ``read_rows``
is re-exported here: ``benchmark.results.read_rows(folder)`` joins a published folder's two
tables back into one wide table.
"""

from benchmark.results.store import read_rows

__all__ = ["read_rows"]
