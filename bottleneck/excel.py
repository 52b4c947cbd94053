"""Reads one raw xlsx export into rows, refusing files that are not, or not safely, workbooks."""
import io
import itertools
import zipfile

from python_calamine import CalamineWorkbook

from bottleneck.errors import InvalidInputError

HEADER_SEARCH_ROWS = 20
MB = 1_000_000


def read_table(data: bytes, file: str, required: list[str], max_file_mb: float, max_unpacked_mb: float) -> dict:
    """Columns of the first sheet whose header (within its first rows) names every required column.

    Returns {column: list of values} for the required columns, with `source_row` (the Excel row
    number) and empty cells as None. Rows are read one at a time and only the required cells kept,
    so a wide export costs little more memory than a narrow one.
    """
    _check_container(data, file, max_file_mb, max_unpacked_mb)
    sheets_with_cells, first_row_found = 0, None
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for index in range(len(workbook.sheet_names)):
            sheet = workbook.get_sheet_by_index(index)
            if sheet.height == 0:
                continue
            sheets_with_cells += 1
            rows = sheet.iter_rows()  # from the sheet's first row, empty ones included
            head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
            first_row_found = first_row_found or next((row for row in head if any(row)), None)
            found = _header(head, required)
            if found is not None:
                header_index, header = found
                return _columns(itertools.chain(head[header_index + 1:], rows), header_index + 2,
                                header, required, file)
    except InvalidInputError:
        raise
    except Exception as error:  # calamine raises its own types for every malformed part
        raise InvalidInputError(f"{file}: cannot be read as a workbook ({error}); rule 'a valid xlsx file'") from error
    if not sheets_with_cells:
        raise InvalidInputError(f"{file}: every sheet is empty; rule 'a sheet with a header and rows'")
    names = [str(cell) for cell in first_row_found or [] if cell not in ("", None)]
    missing = sorted(set(required) - set(names))
    raise InvalidInputError(
        f"{file}: no sheet has a header with column(s) {', '.join(missing)} in its first "
        f"{HEADER_SEARCH_ROWS} rows (first row found: {', '.join(names) or 'empty'}); "
        "rule 'required columns present'"
    )


def check_file_size(size: int, file: str, max_file_mb: float) -> None:
    """The size rule; the pipeline applies it to the size the lake reports, before reading the file."""
    if size > max_file_mb * MB:
        raise InvalidInputError(f"{file}: {size / MB:.1f} MB is over the {max_file_mb:g} MB limit; rule 'max_file_mb'")


def _check_container(data: bytes, file: str, max_file_mb: float, max_unpacked_mb: float) -> None:
    check_file_size(len(data), file, max_file_mb)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInputError(f"{file}: not an xlsx workbook (not a zip archive, or one cut short); rule 'a valid xlsx file'")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
            if unpacked > max_unpacked_mb * MB:
                raise InvalidInputError(
                    f"{file}: unpacks to {unpacked / MB:.0f} MB, over the {max_unpacked_mb:g} MB limit; "
                    "rule 'max_unpacked_mb' (a zip bomb is refused before it is opened)"
                )
            # No testzip(): it would inflate every part once more only to check CRCs, which the
            # workbook reader checks itself as it inflates (a corrupt part is refused there).
    except zipfile.BadZipFile as error:
        raise InvalidInputError(f"{file}: truncated or corrupt ({error}); rule 'a valid xlsx file'") from error


def _header(rows: list[list], required: list[str]):
    for index, row in enumerate(rows):
        names = [str(cell).strip() if cell is not None else "" for cell in row]
        if set(required) <= set(names):
            return index, names
    return None


def _columns(body, first_row: int, header: list[str], required: list[str], file: str) -> dict:
    """The required columns of the rows below the header; `first_row` is the Excel number of the first."""
    for name in required:
        if header.count(name) > 1:
            raise InvalidInputError(f"{file}: column '{name}' appears {header.count(name)} times in the header; "
                                    "rule 'unique column names'")
    positions = [header.index(name) for name in required]
    columns = {name: [] for name in required}
    keep = [columns[name].append for name in required]
    for row in body:
        for append, position in zip(keep, positions):
            append(None if row[position] == "" else row[position])
    count = len(columns[required[0]])
    return {"source_row": list(range(first_row, first_row + count)), **columns}
