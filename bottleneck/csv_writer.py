"""The month's CSVs, written by DuckDB: every row, UTF-8, CRLF, and text never read as a formula."""

import pandas as pd

from bottleneck.compare import CHANGE_COLUMNS
from bottleneck.tables import copied_bytes
from bottleneck.wording import REJECTED_COLUMNS, WINE_COLUMNS

# A cell starting with one of these runs as a formula in a spreadsheet (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MONEY_COLUMNS = ("price", "revenue")


def wines_csv(wines: pd.DataFrame) -> bytes:
    cells = {column: column for column in WINE_COLUMNS}
    for column in MONEY_COLUMNS:
        cells[column] = f"printf('%.2f', {column})"
    cells["total_sales"] = "CAST(total_sales AS BIGINT)"
    cells["price_zscore"] = "printf('%.4f', nullif(price_zscore, 'NaN'::DOUBLE))"
    for column in ("sku", "post_title", "stock_status"):
        cells[column] = _safe_text_sql(column)
    return _csv_bytes(wines, cells)


def rejected_csv(rejected_rows: pd.DataFrame) -> bytes:
    cells = {column: column for column in REJECTED_COLUMNS}
    cells["key"] = _safe_text_sql("key")
    return _csv_bytes(rejected_rows, cells)


def changes_csv(change_table: pd.DataFrame) -> bytes:
    """changes.csv: prices and revenues with their cents, classes as words, text never a formula."""
    table = change_table[list(CHANGE_COLUMNS)].copy()
    for column in ("before", "after"):
        table[column] = table[column].map(lambda value: f"{value:.2f}" if isinstance(value, float) else value)
    cells = {column: column for column in CHANGE_COLUMNS}
    for column in ("sku", "wine"):
        cells[column] = _safe_text_sql(column)
    return _csv_bytes(table, cells)


def _safe_text_sql(column: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP CSV injection)."""
    triggers = ", ".join(f"chr({ord(trigger)})" for trigger in FORMULA_TRIGGERS)
    return f"CASE WHEN left({column}, 1) IN ({triggers}) THEN '''' || {column} ELSE {column} END"


def _csv_bytes(table: pd.DataFrame, cells: dict[str, str]) -> bytes:
    # Written by DuckDB: pandas' to_csv formatted each cell in Python (0.4 s for 70,000 products).
    # CRLF rows (RFC 4180); a field is quoted for a delimiter, a quote or a line break (CR too) in it,
    # so a bare CR in a title stays inside its row in Excel. An empty cell is written as nothing, an
    # empty text as "".
    select = ", ".join(f'{cell} AS "{name}"' for name, cell in cells.items())
    return copied_bytes(table, select, "FORMAT csv, HEADER, NEW_LINE '\\r\\n'")
