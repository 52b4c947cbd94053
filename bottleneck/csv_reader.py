"""The month's CSVs read back as their readers' tools parse them (Python's csv module, not the writer)."""

import csv
import io

from bottleneck.csv_writer import FORMULA_TRIGGERS


def csv_columns(data: bytes, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Columns of a CSV as its readers' tools parse it (Python's csv module, not the writer), by name,
    each cell as its text; every row must have the header's width (ValueError naming the row otherwise)."""
    rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(rows, [])
    missing = [name for name in names if name not in header]
    if missing:
        raise ValueError(f"no column {', '.join(missing)} in the header {header}")
    positions = [header.index(name) for name in names]
    columns: list[list[str]] = [[] for _ in names]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"row {number} has {len(row)} fields, the header {len(header)}")
        for column, position in zip(columns, positions, strict=True):
            column.append(row[position])
    return dict(zip(names, columns, strict=True))


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """Every row of a CSV as a dict by column name."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def as_written(text: str) -> str:
    """A CSV's text without the apostrophe that kept it from running as a formula."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS) else text
