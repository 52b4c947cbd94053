"""Reads one raw xlsx export into a table, refusing files that are not, or not safely, workbooks."""

import io
import posixpath
import zipfile
from collections.abc import Iterator, Sequence
from xml.etree import ElementTree

import fastexcel
import pandas as pd

from bottleneck.errors import InvalidInputError
from bottleneck.tables import registered

HEADER_SEARCH_ROWS = 20
MB = 1_000_000
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PACKAGE = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def read_table(
    data: bytes, file: str, required: list[str], max_file_mb: float, max_unpacked_mb: float, text: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The required columns of the first sheet whose header (within its first rows) names them all.

    One row a data row below the header, `source_row` first (its Excel row number); empty cells are
    null; the columns in `text` are read as text (15298 -> '15298'). The header is found by reading
    the first rows of each sheet's XML; fastexcel (calamine in Rust, straight to Arrow) then reads the
    body from that row, converting only the required columns, so a wide export costs little more
    than a narrow one.
    """
    archive = _checked_archive(data, file, max_file_mb, max_unpacked_mb)
    try:
        heads = sheet_heads(archive)
        for name, head in heads.items():
            found = _header(head, required)
            if found is not None:
                header_index, header = found
                _check_unique(header, required, file)
                return _body(data, name, header_index, required, text, file)
    except InvalidInputError:
        raise
    except Exception as error:  # the zip, XML and calamine readers each raise their own types
        raise InvalidInputError(f"{file}: cannot be read as a workbook ({error}); rule 'a valid xlsx file'") from error
    first = next((row for head in heads.values() for row in head.values() if any(row)), None)
    if first is None:
        raise InvalidInputError(f"{file}: every sheet is empty; rule 'a sheet with a header and rows'")
    names = [cell for cell in first if cell]
    missing = sorted(set(required) - {name.strip() for name in names})
    raise InvalidInputError(
        f"{file}: no sheet has a header with column(s) {', '.join(missing)} in its first "
        f"{HEADER_SEARCH_ROWS} rows (first row found: {', '.join(names) or 'empty'}); "
        "rule 'required columns present'"
    )


def check_file_size(size: int, file: str, max_file_mb: float) -> None:
    """The size rule; the pipeline applies it to the size the lake reports, before reading the file."""
    if size > max_file_mb * MB:
        raise InvalidInputError(f"{file}: {size / MB:.1f} MB is over the {max_file_mb:g} MB limit; rule 'max_file_mb'")


def _body(
    data: bytes, sheet: str, header_index: int, required: list[str], text: tuple[str, ...], file: str
) -> pd.DataFrame:
    wanted = set(required)
    # header_row counts from the sheet's first row, empty rows included, as the search did. Every
    # row is sampled for the types (schema_sample_rows=None): a stray text cell far down a number
    # column makes it text, for the schema to name with its row, instead of a silent null.
    body = fastexcel.read_excel(data).load_sheet(
        sheet,
        header_row=header_index,
        use_columns=lambda column: column.name.strip() in wanted,
        dtypes={name: "string" for name in required if name in text},
        schema_sample_rows=None,
    )
    columns = {column.name.strip(): column.name for column in body.selected_columns}
    if set(columns) != wanted:
        raise InvalidInputError(
            f"{file}: sheet '{sheet}' row {header_index + 1} read as columns "
            f"{sorted(columns)}, not {sorted(wanted)}; rule 'a valid xlsx file'"
        )
    cells = ", ".join(_cell(body.selected_columns, columns[name], name) for name in required)
    # DuckDB reads the Arrow columns fastexcel exposes (the PyCapsule interface): no pyarrow needed.
    with registered("sheet_body", body) as database:
        table = database.execute(f"SELECT {cells} FROM sheet_body").df()
    first_row = header_index + 2  # Excel numbers rows from 1, and the header takes one
    table.insert(0, "source_row", range(first_row, first_row + len(table)))
    return table


def _cell(selected: Sequence[fastexcel.ColumnInfo], column: str, name: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    dtype = next(item.dtype for item in selected if item.name == column)
    # An empty text cell is an empty cell, as calamine and the schema see it.
    value = f"NULLIF({quoted}, '')" if dtype == "string" else quoted
    return f'{value} AS "{name}"'


def _checked_archive(data: bytes, file: str, max_file_mb: float, max_unpacked_mb: float) -> zipfile.ZipFile:
    check_file_size(len(data), file, max_file_mb)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInputError(
            f"{file}: not an xlsx workbook (not a zip archive, or one cut short); rule 'a valid xlsx file'"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise InvalidInputError(f"{file}: truncated or corrupt ({error}); rule 'a valid xlsx file'") from error
    unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked > max_unpacked_mb * MB:
        raise InvalidInputError(
            f"{file}: unpacks to {unpacked / MB:.0f} MB, over the {max_unpacked_mb:g} MB limit; "
            "rule 'max_unpacked_mb' (a zip bomb is refused before it is opened)"
        )
    # No testzip(): it would inflate every part once more only to check CRCs, which the readers
    # check themselves as they inflate (a corrupt part is refused there).
    return archive


def sheet_heads(archive: zipfile.ZipFile) -> dict[str, dict[int, list[str]]]:
    """The first HEADER_SEARCH_ROWS rows of each worksheet, by name in workbook order, as text cells.

    Keys are row indexes from the sheet's first row (0 for Excel row 1), so empty leading rows keep
    their place; when those rows are all empty, the first row with a cell below them is added. Only
    the start of each sheet's XML is inflated and parsed, and of the shared strings only as far as
    those rows refer.
    """
    strings = _SharedStrings(archive)
    return {name: _head(archive, part, strings) for name, part in _worksheet_parts(archive)}


def _worksheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {
        relation.get("Id"): relation.get("Target")
        for relation in relations.iter(f"{PACKAGE}Relationship")
        if relation.get("Type", "").endswith("/worksheet")
    }
    parts = []
    for sheet in workbook.iter(f"{MAIN}sheet"):
        target = targets.get(sheet.get(RELATIONSHIP))
        if target is not None:
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            parts.append((sheet.get("name", ""), part))
    return parts


def _head(archive: zipfile.ZipFile, part: str, strings: "_SharedStrings") -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    index = -1
    with archive.open(part) as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag != f"{MAIN}row":
                continue
            number = element.get("r")
            index = int(number) - 1 if number else index + 1
            cells = [_text(cell, strings) for cell in element.iter(f"{MAIN}c")]
            element.clear()
            if index < HEADER_SEARCH_ROWS:
                rows[index] = cells
            elif any(cells) or any(any(row) for row in rows.values()):
                # Past the search: only the first row with a cell, to name it when no header is found.
                rows.setdefault(index, cells)
                break
    return rows


def _text(cell: ElementTree.Element, strings: "_SharedStrings") -> str:
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(_runs(cell.find(f"{MAIN}is")))
    value = cell.findtext(f"{MAIN}v")
    if value is None:
        return ""
    return strings[int(value)] if kind == "s" else value


def _runs(item: ElementTree.Element | None) -> list[str]:
    """The text of a string item: its <t>, or its rich-text runs' <t> (not the phonetic ones)."""
    if item is None:
        return []
    return [item.findtext(f"{MAIN}t") or ""] + [run.findtext(f"{MAIN}t") or "" for run in item.iter(f"{MAIN}r")]


class _SharedStrings:
    """The workbook's shared strings, parsed only as far as the largest index asked for."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.items: list[str] = []
        self.parser: Iterator[tuple[str, ElementTree.Element]] | None = None

    def __getitem__(self, index: int) -> str:
        if self.parser is None:
            self.parser = ElementTree.iterparse(self.archive.open("xl/sharedStrings.xml"))
        while len(self.items) <= index:
            _, element = next(self.parser)
            if element.tag == f"{MAIN}si":
                self.items.append("".join(_runs(element)))
                element.clear()
        return self.items[index]


def _header(rows: dict[int, list[str]], required: list[str]) -> tuple[int, list[str]] | None:
    for index, row in rows.items():
        if index >= HEADER_SEARCH_ROWS:
            break
        names = [cell.strip() for cell in row]
        if set(required) <= set(names):
            return index, names
    return None


def _check_unique(header: list[str], required: list[str], file: str) -> None:
    for name in required:
        if header.count(name) > 1:
            raise InvalidInputError(
                f"{file}: column '{name}' appears {header.count(name)} times in the header; rule 'unique column names'"
            )
