"""The workbook's list sheets as a person sees them: opened by LibreOffice, every row and value intact."""

import csv
import io
import shutil
import subprocess

import pandas as pd
import pytest

from bottleneck import list_sheets, wording, workbook
from bottleneck.classify import classified_wines
from bottleneck.compare import changes, comparison, month_figures
from tests.ooxml import excel_rule_violations

TITLES = [
    "Château Simone 2016",
    "Domaine Huet 2018",
    "_x0041_ 1.5",
    "  spaced  ",
    'a & b <c> "d"',
    '=HYPERLINK("http://x")',
    "tab\there",
    "bell\x07 _x0041_ ☃",
    "line\nbreak",
    "-2+3",
]


def month(rows: int) -> pd.DataFrame:
    prices = [round(5 + (n * 7.31) % 400, 2) for n in range(rows)]
    sales = [float(n % 13) for n in range(rows)]
    products = pd.DataFrame(
        {
            "product_id": pd.array(range(1, rows + 1), dtype="Int64"),
            "sku": [str(10_000 + n) for n in range(rows)],
            "post_title": [TITLES[n % len(TITLES)] for n in range(rows)],
            "price": prices,
            "total_sales": sales,
            "revenue": [round(price * sale, 2) for price, sale in zip(prices, sales, strict=True)],
            "stock_quantity": pd.array([None if n % 11 == 0 else n - 5 for n in range(rows)], dtype="Int64"),
            "stock_status": ["instock"] * rows,
        }
    )
    return classified_wines(products, premium_zscore=1.5)


def libreoffice_sheets(data: bytes, folder) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as LibreOffice reads it, exported to CSV (raw values, not as shown)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    book = folder / "report.xlsx"
    book.write_bytes(data)
    # Options: comma, double quote, UTF-8, from line 1, ..., values not as shown, every sheet (-1).
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{folder}/profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(folder),
            str(book),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sheets = {}
    for path in folder.glob("report-*.csv"):
        with open(path, newline="", encoding="utf-8") as stream:
            sheets[path.stem[len("report-") :]] = list(csv.reader(stream))
    return sheets


def test_libreoffice_reads_every_row_of_every_list_and_the_continued_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "SHEET_ROWS", 1500)
    monkeypatch.setattr(list_sheets, "SHEET_ROWS", 1500)
    wines = month(2000)
    rejected = pd.DataFrame(
        {
            "source_file": ["web.xlsx"] * 3,
            "source_row": [2, 1_048_576, 40],
            "key": ["=1+1", None, "bon-cadeau"],
            "rule": ["duplicate row"] * 3,
        }
    )
    figures = month_figures("2020-08", wines)
    quality = {**figures, "checks": [], **comparison(figures, [])}
    sheets = libreoffice_sheets(
        workbook.report_workbook(quality, wines, rejected, changes(wines, None), 300.0, 1.5), tmp_path
    )

    listed = sheets["All products"][1:] + sheets["All products (2)"][1:]
    assert sheets["All products"][0] == list(wording.WINE_COLUMNS.values()) == sheets["All products (2)"][0]
    assert len(sheets["All products"]) == 1501
    assert len(listed) == len(wines)
    ranked = wines.sort_values("revenue", ascending=False)
    assert [float(row[5]) for row in listed] == ranked["revenue"].tolist()
    by_id = {int(row[0]): row for row in listed}
    for wine in wines.itertuples():
        row = by_id[wine.product_id]
        assert row[1:3] == [wine.sku, wine.post_title]  # text as written, never a formula's result
        assert float(row[3]) == wine.price
        assert float(row[4]) == wine.total_sales
        assert row[7] == ("" if pd.isna(wine.stock_quantity) else str(wine.stock_quantity))
        assert float(row[6]) == pytest.approx(wine.price_zscore, rel=1e-12)
    assert len(sheets["Premium"]) - 1 == quality["premium"] == 139
    assert len(sheets["Ordinary"]) - 1 + len(sheets["Ordinary (2)"]) - 1 == quality["ordinary"] == 1861
    assert sheets["Rejected rows"][1:] == [
        ["web.xlsx", "2", "=1+1", "duplicate row"],
        ["web.xlsx", "1048576", "", "duplicate row"],
        ["web.xlsx", "40", "bon-cadeau", "duplicate row"],
    ]


def test_every_sheet_keeps_the_rules_excel_enforces_which_lenient_readers_forgive(monkeypatch):
    # Rows in order, cells in column order, shared strings and styles that exist, counts that agree, numbers
    # that are finite, a dimension that covers the cells: LibreOffice and calamine read a sheet that breaks
    # these, Excel repairs it (tests/ooxml.py).
    monkeypatch.setattr(workbook, "SHEET_ROWS", 700)
    monkeypatch.setattr(list_sheets, "SHEET_ROWS", 700)
    wines = month(1000)
    wines.loc[3, "price_zscore"] = float("inf")
    rejected = pd.DataFrame(
        {
            "source_file": ["web.xlsx"] * 3,
            "source_row": [2, 1_048_576, 40],
            "key": ["=1+1", None, "bon-cadeau"],
            "rule": ["duplicate row"] * 3,
        }
    )
    figures = month_figures("2020-08", wines)
    previous = month(900).assign(price=lambda table: table["price"] * 1.1)
    data = workbook.report_workbook(
        {**figures, "checks": [], **comparison(figures, [])}, wines, rejected, changes(wines, previous), 300.0, 1.5
    )
    assert excel_rule_violations(data) == []


def test_the_xlsxwriter_internals_the_list_sheets_use_are_there_as_they_were_read():
    # list_sheets renders its rows through these; a release that renames or reshapes one fails here, by name,
    # rather than writing a workbook that Excel repairs.
    import inspect

    import xlsxwriter
    from xlsxwriter.format import Format
    from xlsxwriter.sharedstrings import SharedStringTable
    from xlsxwriter.worksheet import Worksheet

    major, minor, *_ = (int(part) for part in xlsxwriter.__version__.split("."))
    assert (major, minor) == (3, 3), f"xlsxwriter {xlsxwriter.__version__}: list_sheets was written against 3.3"
    methods = {
        (Worksheet, "_write_sheet_data"): ["self"],
        (Worksheet, "_write_rows"): ["self"],
        (Worksheet, "_xml_start_tag"): ["self", "tag", "attributes"],
        (Worksheet, "_xml_end_tag"): ["self", "tag"],
        (Worksheet, "_check_dimensions"): ["self", "row", "col", "ignore_row", "ignore_col"],
        (SharedStringTable, "_get_shared_string_index"): ["self", "string"],
        (Format, "_get_xf_index"): ["self"],
    }
    for (owner, name), parameters in methods.items():
        assert callable(getattr(owner, name, None)), f"{owner.__name__}.{name} is gone"
        assert list(inspect.signature(getattr(owner, name)).parameters) == parameters, f"{owner.__name__}.{name}"
    with xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True}) as book:
        sheet = book.add_worksheet("Listed", worksheet_class=list_sheets.ListSheet)
        index = sheet.str_table._get_shared_string_index("a text")  # noqa: SLF001 - the internal under test
        assert (index, sheet.str_table.count) == (0, 1)
        assert isinstance(sheet.col_info, dict)
        sheet.write_string(3, 2, "x")
        assert sheet.dim_rowmax == 3, "the sheet's last row"
        assert book.add_format({"bold": True})._get_xf_index() >= 1  # noqa: SLF001 - the internal under test
    assert hasattr(sheet, "fh"), "the sheet's XML stream"
