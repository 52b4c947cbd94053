"""Tables to and from Parquet bytes, through DuckDB (so no Arrow library is needed)."""

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator

import duckdb
import pandas as pd


def connection() -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB."""
    return _connection_of_process(os.getpid())


@functools.cache
def _connection_of_process(pid: int) -> duckdb.DuckDBPyConnection:
    # One a process: a connect() costs ~20 ms and a month makes 17 round trips; keyed by pid,
    # since a forked worker must not share its parent's connection. DuckDB reads only the tables it is
    # given (registered()), never a Python variable that a query happens to name.
    return duckdb.connect(config={"python_enable_replacements": False})


@contextlib.contextmanager
def registered(name: str, table: object) -> Iterator[duckdb.DuckDBPyConnection]:
    """The process's DuckDB, with `table` (a DataFrame, or an object with Arrow's PyCapsule interface such as
    a fastexcel sheet) read as the view `name` while the context lasts."""
    database = connection()
    database.register(name, table)
    try:
        yield database
    finally:
        database.unregister(name)


def parquet_bytes(table: pd.DataFrame) -> bytes:
    return copied_bytes(table, "*", "FORMAT parquet, COMPRESSION zstd")


def copied_bytes(table: pd.DataFrame, select: str, options: str) -> bytes:
    """The file DuckDB's COPY writes of `SELECT {select}` over the table, with COPY's `options`."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "table")
        with registered("frame", table) as database:
            database.execute(f"COPY (SELECT {select} FROM frame) TO '{path}' ({options})")
        with open(path, "rb") as stream:
            return stream.read()


def table_from_parquet(data: bytes) -> pd.DataFrame:
    with parquet_files({"table": data}) as paths:
        return connection().execute("SELECT * FROM read_parquet(?)", [paths["table"]]).df()


@contextlib.contextmanager
def parquet_files(tables: dict[str, bytes]) -> Iterator[dict[str, str]]:
    """Parquet bytes as files, by name, for DuckDB to read where they are while the context lasts."""
    with tempfile.TemporaryDirectory() as folder:
        paths = {name: os.path.join(folder, f"{name}.parquet") for name in tables}
        for name, data in tables.items():
            with open(paths[name], "wb") as stream:
                stream.write(data)
        yield paths
