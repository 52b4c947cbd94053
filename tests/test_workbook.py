"""The workbook: the summary's figures and words, the whole lists, formats, and text that never runs as a formula."""

import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from bottleneck import list_sheets, workbook
from bottleneck.classify import classified_wines
from bottleneck.compare import changes, comparison, month_figures
from bottleneck.mail.message import revenue_rank
from bottleneck.workbook import report_workbook
from tests.frames import HOSTILE_TITLES, REJECTED, wines

CHECKS = [
    {"name": "product_id unique", "level": "error", "status": "passed", "observed": 0, "expected": 0, "detail": ""},
    {
        "name": "no nulls in product_id, sku, price, total_sales",
        "level": "error",
        "status": "passed",
        "observed": {"product_id": 0, "price": 0},
        "expected": {"product_id": 0, "price": 0},
        "detail": "",
    },
    {
        "name": "no negative stock in erp.xlsx",
        "level": "warning",
        "status": "warning",
        "observed": 2,
        "expected": 0,
        "detail": "product_id with negative stock: 4973, 5700",
    },
]
FUNNEL = {"erp": [{"stage": "raw", "rows": 825}, {"stage": "price must be above 0", "rows": 823}], "products": 714}


def quality_of(table, previous=None):
    """quality.json as MonthReport writes it; `previous` the classified wines of 2020-07, if any."""
    figures = month_figures("2020-08", table)
    earlier = [
        {"month": "2020-06", "figures": None, "reason": "2020-06: no raw exports in the lake"},
        {"month": "2020-07", "figures": month_figures("2020-07", previous), "reason": None}
        if previous is not None
        else {"month": "2020-07", "figures": None, "reason": "2020-07: raw exports not ready: missing erp.xlsx"},
    ]
    return {
        **{key: figures[key] for key in ("month", "products", "premium", "ordinary", "turnover")},
        "checks": CHECKS,
        "funnel": FUNNEL,
        **comparison(figures, earlier),
    }


def workbook_bytes(table, previous=None):
    return report_workbook(
        quality_of(table, previous), table.sort_values("revenue"), REJECTED, changes(table, previous), 250.0, 1.0
    )


def open_workbook(table, previous=None):
    return openpyxl.load_workbook(io.BytesIO(workbook_bytes(table, previous)))


def chart_parts(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [name for name in archive.namelist() if name.startswith("xl/charts/chart")]


def summary_cells(book) -> list[str]:
    return [str(cell.value) for row in book["Summary"].iter_rows() for cell in row if cell.value is not None]


def test_workbook_sheets_figures_and_layout():
    data = workbook_bytes(wines())
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        "Summary",
        "Changes",
        "All products",
        "Premium",
        "Ordinary",
        "Rejected rows",
        "Chart data",
    ]
    summary = book["Summary"]
    figures = {summary.cell(row, 1).value: summary.cell(row, 2).value for row in range(3, 9)}
    assert figures["Products"] == 3
    assert figures["Premium wines"] == 1
    assert figures["Ordinary wines"] == 2
    assert figures["Units sold"] == 9
    assert figures["Turnover"] == pytest.approx(1075.5)
    assert "€" in summary.cell(7, 2).number_format
    assert len(chart_parts(data)) == 3  # the Summary's: a year at a glance, top wines, price distribution
    products = book["All products"]
    assert products.freeze_panes == "A2"
    assert products.auto_filter.ref == "A1:I4"
    assert products["D2"].value == 300.0
    assert "0.00" in products["D2"].number_format
    assert [cell.value for cell in book["Premium"]["C"]][1:] == ["Domaine Huet 2018"]
    assert book["Rejected rows"]["C3"].value == "=1+1"
    assert book["Rejected rows"]["C3"].data_type == "s"


def test_the_summary_says_why_there_is_no_comparison_and_shows_gaps_not_zeros():
    book = open_workbook(wines())
    cells = summary_cells(book)
    assert "No comparison with the month before: 2020-07: raw exports not ready: missing erp.xlsx." in cells
    summary = book["Summary"]
    year = next(row for row in range(1, 60) if summary.cell(row, 1).value == "A year at a glance")
    months = [[summary.cell(row, column).value for column in range(1, 7)] for row in range(year + 2, year + 5)]
    assert months[0] == ["2020-06", None, None, None, None, "no figures: no raw exports in the lake"]
    assert months[1][:4] == ["2020-07", None, None, None]
    assert months[2][:4] == ["2020-08", 3, 1, pytest.approx(1075.5)]
    assert book["Changes"].max_row == 1


def test_the_summary_compares_with_the_previous_month_and_lists_each_change():
    current = wines()
    previous = wines().iloc[[1, 2]].assign(price=[30.0, 300.0], revenue=[90.0, 900.0])
    book = open_workbook(current, previous=classified_wines(previous.drop(columns=["price_zscore", "category"]), 1.0))
    summary = book["Summary"]
    assert summary["C2"].value == "Previous month (2020-07)"
    rows = {
        summary.cell(row, 1).value: [summary.cell(row, column).value for column in range(2, 6)] for row in range(3, 8)
    }
    assert rows["Products"] == [3, 2, "+1", "+50.0 %"]
    assert rows["Turnover"] == [pytest.approx(1075.5), 990.0, "+85.50 €", "+8.6 %"]
    assert rows["Premium wines"] == [1, 0, "+1", "—"]  # no percent of nothing
    assert rows["Ordinary wines"] == [2, 2, "no change", "0.0 %"]
    assert (
        "Changes: 1 new wines, 1 price changes, 1 now premium, 1 biggest revenue moves (sheet Changes, changes.csv)."
        in summary_cells(book)
    )
    changes_sheet = [[cell.value for cell in row] for row in book["Changes"].iter_rows()]
    assert changes_sheet == [
        ["Change", "Product id", "Web sku", "Wine", "Before", "After"],
        ["new", 1, "100", "Château Simone 2016", None, "24.20 €"],
        ["price", 2, "101", "Mas Amiel 2015", "30.00 €", "34.30 €"],
        ["premium", 3, "102", "Domaine Huet 2018", "ordinary", "premium"],
        ["revenue", 2, "101", "Mas Amiel 2015", "90.00 €", "102.90 €"],
    ]


def test_the_gate_and_the_funnel_read_in_words_without_json():
    cells = summary_cells(open_workbook(wines()))
    assert "2 checks passed, 1 warning" in cells
    assert "2 products have negative stock: 4973, 5700" in cells
    assert "product_id 0, price 0" in cells
    assert cells[cells.index("erp.xlsx") + 1 : cells.index("erp.xlsx") + 3] == ["rows in the export", "825"]
    assert not [cell for cell in cells if "{" in cell or "}" in cell]


def test_hostile_titles_are_text_cells_in_the_workbook():
    book = open_workbook(wines(HOSTILE_TITLES[:3]))
    cells = list(book["All products"]["C"])[1:]
    assert {cell.value for cell in cells} == set(HOSTILE_TITLES[:3])
    assert all(cell.data_type == "s" for cell in cells)


def test_an_empty_month_still_makes_a_workbook():
    empty = wines(())
    book = open_workbook(empty)
    assert book["Summary"].cell(3, 2).value == 0
    assert book["All products"].max_row == 1


def test_a_list_longer_than_a_sheet_continues_on_further_sheets_and_the_summary_says_so(monkeypatch):
    monkeypatch.setattr(workbook, "SHEET_ROWS", 2)
    monkeypatch.setattr(list_sheets, "SHEET_ROWS", 2)
    book = open_workbook(wines())
    assert book.sheetnames == [
        "Summary",
        "Changes",
        "All products",
        "All products (2)",
        "Premium",
        "Ordinary",
        "Rejected rows",
        "Chart data",
    ]
    titles = [cell.value for name in ("All products", "All products (2)") for cell in book[name]["C"]]
    assert titles == ["Wine", "Domaine Huet 2018", "Mas Amiel 2015", "Wine", "Château Simone 2016"]
    assert book["All products (2)"]["A2"].value == 1
    assert book["All products (2)"].auto_filter.ref == "A1:I2"
    notes = [cell.value for cell in book["Summary"]["A"] if cell.value and str(cell.value).startswith("Sheet ")]
    assert notes == ["Sheet 'All products' lists 3 rows, 2 a sheet (Excel's limit): continued on 'All products (2)'."]


@pytest.mark.parametrize("titles", [("  spaced  ", 'a & b <c> "d"', "tab\there"), ("line\nbreak", "café ☃ ≠", "=1+1")])
def test_every_kind_of_cell_reads_back_as_written(titles):
    table = wines(titles)
    table.loc[0, "price_zscore"] = float("nan")
    table["stock_quantity"] = pd.array([None, -2, 10**12], dtype="Int64")
    table["revenue"] = [0.1 + 0.2, 1e-7, 123456789.125]
    book = open_workbook(table)
    sheet = book["All products"]
    by_id = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert sheet.max_row == 4
    for wine in table.itertuples():
        cells = by_id[wine.product_id]
        assert cells[2].value == wine.post_title
        assert cells[2].data_type == "s"
        assert cells[5].value == wine.revenue  # the very same double
        assert cells[7].value == (None if pd.isna(wine.stock_quantity) else wine.stock_quantity)
        assert cells[6].value == (None if pd.isna(wine.price_zscore) else pytest.approx(wine.price_zscore, abs=0))
    assert "€" in by_id[1][5].number_format
    assert by_id[1][0].number_format == "General"


def test_a_long_check_is_given_the_lines_it_wraps_to_and_never_runs_over_the_next():
    long_check = {
        "name": "every row accounted for: raw = kept + rejected, per source " * 2,
        "level": "error",
        "status": "passed",
        "observed": 0,
        "expected": 0,
        "detail": "",
    }
    table = wines()
    quality = {**quality_of(table), "checks": [long_check, *CHECKS]}
    book = openpyxl.load_workbook(
        io.BytesIO(report_workbook(quality, table, REJECTED, changes(table, None), 250.0, 1.0))
    )
    sheet = book["Summary"]
    row = next(cell.row for cell in sheet["A"] if cell.value == long_check["name"])
    assert sheet.row_dimensions[row].height == 3 * workbook.LINE_POINTS  # 120 characters in a 44-wide column
    # One line: the default height.
    assert (sheet.row_dimensions[row + 1].height or workbook.LINE_POINTS) == workbook.LINE_POINTS


def test_the_lists_rank_wines_of_equal_revenue_by_product_id_as_the_email_does():
    prices = [25.0 if n % 2 else 12.5 for n in range(40)]
    tied = classified_wines(
        pd.DataFrame(
            {
                "product_id": range(40, 0, -1),  # the frame's order is the reverse of the ids'
                "sku": [str(100 + n) for n in range(40)],
                "post_title": [f"Vin {n}" for n in range(40)],
                "price": prices,
                "total_sales": [4.0] * 40,
                "revenue": [price * 4 for price in prices],
                "stock_quantity": [5] * 40,
                "stock_status": ["instock"] * 40,
                "onsale_web": [1] * 40,
            }
        ),
        premium_zscore=1.0,
    )
    book = open_workbook(tied)
    listed = [(row[5].value, row[0].value) for row in book["All products"].iter_rows(min_row=2)]
    assert listed == sorted(listed, key=lambda row: revenue_rank(row[0], row[1]))
    chart = [row[0].value for row in book["Chart data"].iter_rows(min_row=2, max_row=workbook.TOP_PRODUCTS + 1)]
    assert chart == [f"Vin {40 - product_id}" for _, product_id in listed[: workbook.TOP_PRODUCTS]]
