"""Hostile and broken raw exports, run through the real pipeline process on the S3 lake: each gives a
neutralised value or a typed refusal naming the file and the rule, never a crash or a half report."""

import io
import zipfile

import openpyxl
import pytest
import xlsxwriter

from bottleneck.demo import xlsx_bytes

pytestmark = pytest.mark.slow

ERP = ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"]
WEB = ["sku", "post_type", "post_title", "total_sales", "post_date"]
LIAISON = ["product_id", "id_web"]
TITLES = [
    '=HYPERLINK("http://evil.test","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tcmd",
    "\rcmd",
    "<script>alert(1)</script> & Co",
    "Château Simone 2015",
]


def rows():
    erp = [[n, 1, 10.0 + 2 * n, 5, "instock"] for n in range(1, len(TITLES) + 1)]
    liaison = [[n, str(1000 + n)] for n in range(1, len(TITLES) + 1)]
    web = [[str(1000 + n), "product", title, float(n), "2020-08-01"] for n, title in enumerate(TITLES, start=1)]
    return erp, web, liaison


def month(erp=None, web=None, liaison=None) -> dict[str, bytes]:
    default_erp, default_web, default_liaison = rows()
    return {
        "erp": erp if erp is not None else xlsx_bytes(ERP, default_erp),
        "web": web if web is not None else xlsx_bytes(WEB, default_web),
        "liaison": liaison if liaison is not None else xlsx_bytes(LIAISON, default_liaison),
    }


def workbook(sheets: dict[str, list[list]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    for name, sheet_rows in sheets.items():
        sheet = book.add_worksheet(name)
        for number, row in enumerate(sheet_rows):
            for column, value in enumerate(row):
                if value is not None:
                    sheet.write(number, column, value)
    book.close()
    return buffer.getvalue()


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 30_000_000)
    return buffer.getvalue()


def oversized() -> bytes:
    erp, _, _ = rows()
    filler = [[f"filler {n} " + "x" * 80] for n in range(20_000)]
    return workbook({"Sheet1": [ERP, *erp], "Filler": filler})


def lower_header_and_extra_sheets() -> bytes:
    erp, _, _ = rows()
    return workbook(
        {
            "Notes": [["exported by the ERP on 2020-09-01"], ["product_id is the ERP key"]],
            "Export": [["BottleNeck ERP"], [], ["period", "2020-08"], ERP, *erp],
            "Pivot": [["product_id", "price"], [1, 12.0]],
        }
    )


def ids_as_floats_and_spaces() -> dict[str, bytes]:
    erp, web, liaison = rows()
    erp = [[float(row[0]), *row[1:]] for row in erp]
    liaison = [[row[0], float(row[1]) if n % 2 else f"  {row[1]} "] for n, row in enumerate(liaison)]
    web = [[float(row[0]) if n % 2 else f"{row[0]}.0", *row[1:]] for n, row in enumerate(web)]
    return month(xlsx_bytes(ERP, erp), xlsx_bytes(WEB, web), xlsx_bytes(LIAISON, liaison))


def sales_as_date_text() -> bytes:
    _, web, _ = rows()
    web[2][3] = "2020-08-03"
    return xlsx_bytes(WEB, web)


def conflicting_prices() -> bytes:
    erp, _, _ = rows()
    return xlsx_bytes(ERP, [*erp, [3, 1, 99.0, 5, "instock"]])


REFUSED = {
    "not-a-zip": (
        month(erp=b"product_id,price\n1,10\n"),
        6,
        ("erp.xlsx: not an xlsx workbook", "rule 'a valid xlsx file'"),
    ),
    "truncated": (month(web=xlsx_bytes(WEB, rows()[1])[:-300]), 6, ("web.xlsx:", "rule 'a valid xlsx file'")),
    "zip-bomb": (
        month(web=zip_bomb()),
        6,
        ("web.xlsx: unpacks to 30 MB, over the 5 MB limit", "rule 'max_unpacked_mb'"),
    ),
    "over-size": (month(erp=oversized()), 6, ("erp.xlsx:", "over the 0.2 MB limit; rule 'max_file_mb'")),
    "empty-sheet": (month(liaison=workbook({"Sheet1": []})), 6, ("liaison.xlsx: every sheet is empty",)),
    "header-too-low": (
        month(liaison=workbook({"Sheet1": [[]] * 25 + [LIAISON, [1, "1001"]]})),
        6,
        ("liaison.xlsx: no sheet has a header", "in its first 20 rows", "rule 'required columns present'"),
    ),
    "duplicated-column": (
        month(liaison=xlsx_bytes([*LIAISON, "id_web"], [[1, "1001", "1002"]])),
        6,
        ("liaison.xlsx: column 'id_web' appears 2 times", "rule 'unique column names'"),
    ),
    "sales-as-date-text": (
        month(web=sales_as_date_text()),
        6,
        ("web.xlsx: column 'total_sales' breaks rule 'type", "'2020-08-03' (row 4)"),
    ),
    "conflicting-prices": (
        month(erp=conflicting_prices()),
        7,
        ("product_id 3: erp.xlsx row 4 price=16.0; row 10 price=99.0",),
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_broken_exports_are_refused_by_rule_and_no_report_is_written(case, lake, pipeline):
    exports, code, fragments = REFUSED[case]
    lake.put_month(exports)
    pipeline.configure("bottleneck", lake=lake.url, max_file_mb=0.2, max_unpacked_mb=5)
    result = pipeline.run()
    assert result.returncode == code, result.stdout[-3000:]
    errors = [line for line in result.stdout.splitlines() if "Error: " in line]
    assert errors, errors
    assert all(fragment in errors[0] for fragment in fragments), errors
    assert not [path for path in lake.objects() if path.startswith("reports/")]


@pytest.mark.parametrize("case", ["extra-sheets-and-header-lower-down", "ids-as-floats-or-with-spaces"])
def test_exports_read_by_rule(case, lake, pipeline):
    exports = month(erp=lower_header_and_extra_sheets()) if case.startswith("extra") else ids_as_floats_and_spaces()
    lake.put_month(exports)
    pipeline.configure("bottleneck", lake=lake.url)
    result = pipeline.run()
    assert result.returncode == 0, result.stdout[-3000:]
    assert '"products": 8' in lake.get("reports/2020/08/quality.json").decode()
    if case.startswith("ids"):
        assert "1001" in lake.get("reports/2020/08/ordinary_wines.csv").decode()


def test_hostile_titles_are_text_in_the_csv_and_the_workbook_and_escaped_in_the_email(lake, pipeline, smtp_server):
    smtp = smtp_server.get("plain")
    lake.put_month(month())  # its post_date column is text: not a column the pipeline reads, so ignored
    pipeline.configure("bottleneck", lake=lake.url)
    pipeline.configure("smtp", **smtp.smtp_options())
    result = pipeline.run()
    assert result.returncode == 0, result.stdout[-3000:]

    import csv

    written = [
        row
        for name in ("premium_wines.csv", "ordinary_wines.csv")
        for row in csv.DictReader(io.StringIO(lake.get(f"reports/2020/08/{name}").decode(), newline=""))
    ]
    titles = {row["post_title"] for row in written}
    assert titles == {("'" + title if title[0] in "=+-@\t\r" else title) for title in TITLES}

    book = openpyxl.load_workbook(io.BytesIO(lake.get("reports/2020/08/report.xlsx")))
    cells = [cell for row in book["All products"].iter_rows(min_row=2) for cell in row]
    # _x000D_ is how OOXML stores a CR in a string, which Excel shows as one and openpyxl leaves as is.
    assert {cell.value.replace("_x000D_", "\r") for cell in cells if cell.column == 3} == set(TITLES)
    assert all(cell.data_type != "f" for sheet in book.worksheets for row in sheet.iter_rows() for cell in row)

    ((message, _envelope),) = smtp.received()
    attached = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert attached["premium_wines.csv"] + attached["ordinary_wines.csv"]  # the CSVs as stored
    page = message.get_body(("html",)).get_content()
    assert "<script>" not in page


def test_html_in_what_the_emails_show_is_escaped():
    from bottleneck import mail

    hostile = "<img src=x onerror=alert(1)>"
    quality = {
        "month": "2020-08",
        "products": 1,
        "premium": 0,
        "ordinary": 1,
        "turnover": 1.0,
        "checks": [
            {
                "name": hostile,
                "level": "warning",
                "status": "warning",
                "observed": hostile,
                "expected": 0,
                "detail": hostile,
            }
        ],
    }
    report = mail.report_email(quality, {}, sender="a@b.test", receivers=["c@d.test"])
    alert = mail.alert_email(
        month="2020-08", task=hostile, error=hostile, log_lines=[hostile], sender="a@b.test", receivers=["c@d.test"]
    )
    for message in (report, alert):
        page = message.get_body(("html",)).get_content()
        assert hostile not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
