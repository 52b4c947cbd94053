"""The xlsx reader: what it accepts, and the rule it names when it refuses a file."""

import io
import zipfile

import pandas as pd
import pytest
import xlsxwriter

from bottleneck.demo import xlsx_bytes
from bottleneck.errors import InvalidInputError
from bottleneck.xlsx_reader import read_table

REQUIRED = ["product_id", "id_web"]


def read(data: bytes, max_file_mb: float = 50, max_unpacked_mb: float = 1000) -> dict:
    table = read_table(data, "liaison.xlsx", REQUIRED, max_file_mb, max_unpacked_mb)
    return {
        name: [None if pd.isna(value) else value for value in values] for name, values in table.to_dict("list").items()
    }


def workbook(sheets: dict[str, list[list]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for number, row in enumerate(rows):
            sheet.write_row(number, 0, row)
    book.close()
    return buffer.getvalue()


def test_reads_required_columns_with_excel_row_numbers_and_blank_cells_as_none():
    table = read(xlsx_bytes(["product_id", "other", "id_web"], [[1, "x", "15298"], [2, "y", None]]))
    assert table == {"source_row": [2, 3], "product_id": [1.0, 2.0], "id_web": ["15298", None]}


def test_a_header_lower_down_and_an_extra_sheet_first_are_found():
    data = workbook(
        {"Notes": [["exported by the ERP"]], "Data": [["Liaison export"], [], ["product_id", "id_web"], [7, "abc"]]}
    )
    assert read(data) == {"source_row": [4], "product_id": [7], "id_web": ["abc"]}


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"product_id,id_web\n1,2\n", "not a zip archive"),
        (xlsx_bytes(["product_id", "id_web"], [[1, "a"]])[:-200], "or one cut short"),
        (workbook({"Sheet1": []}), "every sheet is empty"),
        (xlsx_bytes(["product_id", "web"], [[1, "a"]]), "no sheet has a header with column(s) id_web"),
        (xlsx_bytes(["product_id", "id_web", "id_web"], [[1, "a", "b"]]), "column 'id_web' appears 2 times"),
    ],
    ids=["csv", "truncated", "empty", "missing-column", "duplicated-column"],
)
def test_refusals_name_the_file_and_the_rule(data, rule):
    with pytest.raises(InvalidInputError) as refusal:
        read(data)
    assert "liaison.xlsx" in str(refusal.value)
    assert rule in str(refusal.value)


def test_a_file_over_the_size_limit_is_refused():
    data = xlsx_bytes(["product_id", "id_web"], [[n, str(n)] for n in range(2000)])
    with pytest.raises(InvalidInputError, match=r"over the 0\.01 MB limit; rule 'max_file_mb'"):
        read(data, max_file_mb=0.01)


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 50_000_000)
    with pytest.raises(InvalidInputError, match="zip bomb"):
        read(buffer.getvalue(), max_unpacked_mb=10)


def test_a_corrupt_part_is_refused():
    data = bytearray(xlsx_bytes(["product_id", "id_web"], [[n, str(n)] for n in range(300)]))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        member = archive.getinfo("xl/worksheets/sheet1.xml")
    start = member.header_offset + 30 + len(member.filename) + len(member.extra) + 40
    data[start : start + 8] = b"\xff" * 8  # flip bytes inside the compressed sheet
    with pytest.raises(InvalidInputError, match="rule 'a valid xlsx file'"):
        read(bytes(data))


def test_a_stray_text_cell_far_down_a_number_column_is_kept_for_the_schema_to_name():
    rows = [[n, str(n)] for n in range(1, 1500)] + [["oops", "1500"]]
    table = read(xlsx_bytes(["product_id", "id_web"], rows))
    assert table["product_id"][-1] == "oops"
    assert table["source_row"][-1] == 1501


def test_leading_empty_rows_keep_excel_row_numbers():
    data = workbook({"Sheet1": [[], [], [], ["product_id", "id_web"], [7, "abc"]]})
    assert read(data) == {"source_row": [5], "product_id": [7], "id_web": ["abc"]}


def test_leading_empty_rows_and_columns_a_title_and_gaps_keep_excel_row_numbers():
    # The reader's body starts where the sheet's cells start (row 3, column C here): the header's
    # position must still be counted from row 1, and empty rows inside the body keep their place.
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Export")
    sheet.write(2, 2, "Liaison export, August")
    sheet.write_row(5, 2, [" product_id ", "label", "id_web"])
    sheet.write_row(6, 2, [7, "x", "abc"])
    sheet.write_row(9, 2, [8, "y", "def"])
    book.close()
    assert read(buffer.getvalue()) == {
        "source_row": [7, 8, 9, 10],
        "product_id": [7, None, None, 8],
        "id_web": ["abc", None, None, "def"],
    }


def test_a_header_in_rich_text_and_inline_strings_is_found():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_rich_string(0, 0, book.add_format({"bold": True}), "product", "_id")
    sheet.write(0, 1, "id_web")
    sheet.write_row(1, 0, [3, "z"])
    book.close()
    assert read(buffer.getvalue())["id_web"] == ["z"]
    inline = io.BytesIO()
    book = xlsxwriter.Workbook(inline, {"constant_memory": True})  # writes inline strings, not shared ones
    book.filename = inline
    sheet = book.add_worksheet()
    sheet.write_row(1, 0, ["product_id", "id_web"])
    sheet.write_row(2, 0, [4, "w"])
    book.close()
    assert read(inline.getvalue()) == {"source_row": [3], "product_id": [4], "id_web": ["w"]}
