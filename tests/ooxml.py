"""The rules Excel enforces on a workbook's XML, stricter than the readers that repair or ignore a fault.

LibreOffice, calamine and openpyxl read rows written out of order, a shared string index past the
table or a style that does not exist; Excel refuses such a file or "repairs" it, dropping what it
cannot place. `excel_rule_violations` names each breach of those rules, part by part (ECMA-376 Part 1,
18.3 worksheets, 18.4 shared strings, 18.8 styles; Excel's own limits).
"""

import io
import math
import re
import zipfile
from collections.abc import Iterator
from xml.etree import ElementTree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MAX_ROWS, MAX_COLUMNS, MAX_TEXT = 1_048_576, 16_384, 32_767
CELL_REFERENCE = re.compile(r"^([A-Z]{1,3})([0-9]+)$")
SHEET_NAME_FORBIDDEN = set("[]:*?/\\")


def column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index


def reference(text: str) -> tuple[int, int]:
    """(row, column) of a cell reference such as 'C12', both from 1."""
    found = CELL_REFERENCE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a cell reference")
    return int(found.group(2)), column_index(found.group(1))


def excel_rule_violations(data: bytes) -> list[str]:
    """Every breach of Excel's rules in the workbook's sheets, shared strings, styles and sheet names."""
    book = zipfile.ZipFile(io.BytesIO(data))
    problems: list[str] = []
    parts = {}
    for name in book.namelist():
        if name.endswith(".xml"):
            try:
                parts[name] = ElementTree.fromstring(book.read(name))
            except ElementTree.ParseError as error:
                problems.append(f"{name}: not well-formed XML ({error})")
    strings = parts.get("xl/sharedStrings.xml")
    items = list(strings.iter(f"{MAIN}si")) if strings is not None else []
    styles = parts["xl/styles.xml"].find(f"{MAIN}cellXfs")
    style_count = len(list(styles)) if styles is not None else 0
    problems += _sheet_names(parts["xl/workbook.xml"])
    uses = 0
    for name in sorted(part for part in parts if part.startswith("xl/worksheets/sheet")):
        sheet_problems, sheet_uses = _sheet(name, parts[name], len(items), style_count)
        problems += sheet_problems
        uses += sheet_uses
    if strings is not None:
        problems += _shared_strings(strings, items, uses)
    return problems


def _sheet_names(workbook: ElementTree.Element) -> list[str]:
    problems, seen = [], set()
    for sheet in workbook.iter(f"{MAIN}sheet"):
        name = sheet.get("name", "")
        if not 1 <= len(name) <= 31 or SHEET_NAME_FORBIDDEN & set(name) or name.lower() in seen:
            problems.append(f"xl/workbook.xml: sheet name {name!r} breaks Excel's naming rules")
        seen.add(name.lower())
    return problems


def _shared_strings(strings: ElementTree.Element, items: list[ElementTree.Element], uses: int) -> list[str]:
    problems = []
    if strings.get("uniqueCount") is not None and int(strings.get("uniqueCount", "0")) != len(items):
        problems.append(f"xl/sharedStrings.xml: uniqueCount {strings.get('uniqueCount')} but {len(items)} items")
    if strings.get("count") is not None and int(strings.get("count", "0")) != uses:
        problems.append(f"xl/sharedStrings.xml: count {strings.get('count')} but {uses} cells refer to the table")
    for index, item in enumerate(items):
        if len("".join(item.itertext())) > MAX_TEXT:
            problems.append(f"xl/sharedStrings.xml: item {index} longer than {MAX_TEXT} characters")
    return problems


def _cells(row: ElementTree.Element, number: int, where: str) -> Iterator[tuple[int, ElementTree.Element, str]]:
    """(column, cell, problem or '') of each cell of a row, placed as Excel places them."""
    column = 0
    for cell in row.iter(f"{MAIN}c"):
        if cell.get("r"):
            try:
                cell_row, cell_column = reference(cell.get("r", ""))
            except ValueError as error:
                yield column, cell, f"{where}: {error}"
                continue
            if cell_row != number:
                yield cell_column, cell, f"{where}: cell {cell.get('r')} in row {number}"
            if cell_column <= column:
                yield cell_column, cell, f"{where}: cell {cell.get('r')} after column {column} (columns must rise)"
            column = cell_column
        else:
            column += 1
        yield column, cell, ""


def _sheet(name: str, sheet: ElementTree.Element, string_count: int, style_count: int) -> tuple[list[str], int]:
    problems, uses = [], 0
    previous_row, used = 0, [MAX_ROWS + 1, MAX_COLUMNS + 1, 0, 0]  # top, left, bottom, right
    for row in sheet.iter(f"{MAIN}row"):
        number = int(row.get("r") or previous_row + 1)
        where = f"{name} row {number}"
        if number <= previous_row:
            problems.append(f"{where}: after row {previous_row} (rows must rise)")
        if not 1 <= number <= MAX_ROWS:
            problems.append(f"{where}: outside 1..{MAX_ROWS}")
        previous_row = max(previous_row, number)
        for column, cell, problem in _cells(row, number, where):
            if problem:
                problems.append(problem)
            if not 1 <= column <= MAX_COLUMNS:
                problems.append(f"{where}: column {column} outside 1..{MAX_COLUMNS}")
            kind, value = cell.get("t", "n"), cell.findtext(f"{MAIN}v")
            style = cell.get("s")
            if style is not None and not 0 <= int(style) < style_count:
                problems.append(f"{where} column {column}: style {style} of {style_count}")
            if kind == "s":
                uses += 1
                if value is None or not value.isdigit() or int(value) >= string_count:
                    problems.append(f"{where} column {column}: shared string {value!r} of {string_count}")
            elif kind == "inlineStr":
                text = cell.find(f"{MAIN}is")
                if text is None or value is not None:
                    problems.append(f"{where} column {column}: an inline string needs <is> and no <v>")
                elif len("".join(text.itertext())) > MAX_TEXT:
                    problems.append(f"{where} column {column}: text longer than {MAX_TEXT} characters")
            elif kind == "n" and value is not None:
                try:
                    if not math.isfinite(float(value)) or value.strip().lower() in ("nan", "inf", "-inf"):
                        raise ValueError(value)
                except ValueError:
                    problems.append(f"{where} column {column}: number {value!r} is not a finite xsd:double")
            elif kind not in ("n", "s", "inlineStr", "b", "str", "e"):
                problems.append(f"{where} column {column}: cell type {kind!r}")
            if value is not None or kind == "inlineStr":
                used = [min(used[0], number), min(used[1], column), max(used[2], number), max(used[3], column)]
    dimension = sheet.find(f"{MAIN}dimension")
    if used[2] and dimension is not None:
        corners = [reference(corner) for corner in dimension.get("ref", "").split(":")]
        (top, left), (bottom, right) = corners[0], corners[-1]
        if top > used[0] or left > used[1] or bottom < used[2] or right < used[3]:
            problems.append(f"{name}: dimension {dimension.get('ref')} does not cover the cells written")
    return problems, uses
