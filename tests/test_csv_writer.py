"""The month's CSVs: every row, UTF-8, CRLF, cents, and text never read as a formula."""

import csv
import io

import pytest

from bottleneck.compare import changes
from bottleneck.csv_writer import changes_csv, rejected_csv, wines_csv
from tests.frames import HOSTILE_TITLES, REJECTED, wines


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_formula_triggers_are_neutralised(title):
    rows = list(csv.reader(io.StringIO(wines_csv(wines((title, "Château Simone", "12"))).decode(), newline="")))
    assert [row[2] for row in rows[1:]] == ["'" + title, "Château Simone", "12"]


def test_wines_csv_has_a_header_utf8_text_and_cents():
    rows = list(csv.reader(io.StringIO(wines_csv(wines()).decode("utf-8"))))
    assert rows[0] == [
        "product_id",
        "sku",
        "post_title",
        "price",
        "total_sales",
        "revenue",
        "price_zscore",
        "stock_quantity",
        "stock_status",
    ]
    assert rows[1][:6] == ["1", "100", "Château Simone 2016", "24.20", "3", "72.60"]


def test_hostile_titles_stay_text_in_the_csv():
    rows = list(csv.reader(io.StringIO(wines_csv(wines(HOSTILE_TITLES[:3])).decode("utf-8"))))
    assert [row[2] for row in rows[1:]] == ["'" + title for title in HOSTILE_TITLES[:3]]
    assert rejected_csv(REJECTED).decode().splitlines()[2] == "web.xlsx,4,'=1+1,duplicate row"


def test_the_csv_keeps_carriage_returns_inside_their_row_and_rounds_to_the_cent():
    table = wines(HOSTILE_TITLES[3:])
    table["price"] = [0.125, 2.675, 1e20]
    table.loc[0, "price_zscore"] = float("nan")
    data = wines_csv(table)
    assert data.count(b"\r\n") == 4
    assert b'"\'\rReturn"' in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [row[2] for row in rows[1:]] == ["'" + title for title in HOSTILE_TITLES[3:]]
    assert [row[3] for row in rows[1:]] == [f"{price:.2f}" for price in table["price"]]
    assert rows[1][6] == ""
    assert rows[2][6] == f"{table['price_zscore'][1]:.4f}"


def test_changes_csv_has_the_columns_cents_and_safe_text():
    table = changes(wines(HOSTILE_TITLES[:3]), wines(HOSTILE_TITLES[:2]).assign(price=[20.0, 34.3]))
    rows = list(csv.reader(io.StringIO(changes_csv(table).decode("utf-8"))))
    assert rows[0] == ["change", "product_id", "sku", "wine", "before", "after"]
    assert rows[1] == ["new", "3", "102", "'-2+3", "", "300.00"]
    assert rows[2] == ["price", "1", "100", '\'=HYPERLINK("http://x")', "20.00", "24.20"]
