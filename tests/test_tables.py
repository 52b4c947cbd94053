"""The process's DuckDB: it reads the tables it is given, and no Python variable a query happens to name."""

import duckdb
import pandas as pd
import pytest

from bottleneck import tables


def test_a_table_is_read_while_registered_and_a_variable_of_its_name_never():
    texts = pd.DataFrame({"text": ["a", "b"]})
    with tables.registered("texts", texts) as database:
        assert database.execute("SELECT count(*) FROM texts").fetchall() == [(2,)]
    # Unregistered: the local variable `texts` is not found by its name (DuckDB's replacement scan is off).
    with pytest.raises(duckdb.CatalogException, match="texts"):
        tables.connection().execute("SELECT count(*) FROM texts")
