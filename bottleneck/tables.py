"""Tables to and from Parquet bytes, through DuckDB (so no Arrow library is needed)."""
import os
import tempfile

import duckdb
import pandas as pd


def parquet_bytes(table: pd.DataFrame) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "table.parquet")
        connection = duckdb.connect()
        connection.register("frame", table)
        connection.execute(f"COPY frame TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
        connection.close()
        with open(path, "rb") as stream:
            return stream.read()


def table_from_parquet(data: bytes) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "table.parquet")
        with open(path, "wb") as stream:
            stream.write(data)
        connection = duckdb.connect()
        table = connection.execute(f"SELECT * FROM read_parquet('{path}')").df()
        connection.close()
        return table
