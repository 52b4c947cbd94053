"""Workbook sheets that list a whole table, their rows rendered in bulk instead of cell by cell.

This is the package's one use of another library's internals, kept because it is worth its cost:
xlsxwriter's public API writes a cell with two Python calls (the write, then its XML at close): 9.5 s
for the four lists of a month a hundred times the size of a real one (71,400 products, 102,100
rejected rows), against 1.7 s rendered here in bulk (both deflated by xlsxwriter alike). It relies on
xlsxwriter's worksheet writer (`_write_sheet_data`, `_write_rows`, `_xml_start_tag`, `_xml_end_tag`,
`_check_dimensions`, `fh`, `dim_rowmax`, `col_info`), its shared strings (`str_table`,
`_get_shared_string_index`, `count`) and a format's index (`_get_xf_index`): xlsxwriter is pinned to
the minor version these were read from (setup.cfg), and tests/test_list_sheets.py fails, naming the
name, when one of them is gone or changed; the sheets it writes are checked against the rules Excel
enforces, not only read back by lenient readers.
"""

from collections.abc import Iterator

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from bottleneck.tables import registered

SHEET_ROWS = 1_048_575  # Excel's 1,048,576 rows a sheet, less the header
MAX_TEXT = 32_767  # characters a cell holds in Excel (xlsxwriter cuts longer text as well)
ROWS_A_CHUNK = 20_000
# Text written inline as it is: no XML escape, no edge space, no _xHHHH_ (Excel's escape) in it.
PLAIN_TEXT = r"[0-9A-Za-z.-]+(?: [0-9A-Za-z.-]+)*"


class ListSheet(Worksheet):
    """A worksheet whose header and rows come from one table, written when the workbook is.

    Cell by cell, xlsxwriter makes two Python calls a cell (the write, then its XML at close): about
    10 s for the 1.6 million cells of a 150,000-row month's lists. Here plain text (ids, keys) is
    written inline as it is, each distinct other text goes once into the workbook's shared strings
    (which xlsxwriter escapes and writes), so text is never a formula; DuckDB renders the XML of each
    row at once, and the rows are streamed to the sheet's file in chunks, as xlsxwriter's
    constant_memory mode would. Numbers are written as the shortest text that reads back as the
    same double; cells take their column's format (set_column), as xlsxwriter gives a cell written
    without one of its own; empty cells are left out.
    """

    # The table to list: numbers, plain texts, and shared-string indexes of the other texts.
    rows: pd.DataFrame | None = None
    dim_rowmax: int  # xlsxwriter's last row of the sheet
    titles: tuple[str, ...] = ()
    text_columns: frozenset[int] = frozenset()

    def list_table(self, table: pd.DataFrame, titles: list[str], header_format: Format) -> None:
        """Lists the table under a header of `titles` (one a column); the sheet must hold it."""
        if len(table) > SHEET_ROWS:
            raise ValueError(f"{len(table):,} rows do not fit a sheet ({SHEET_ROWS:,} at most)")
        self.titles = tuple(titles)
        for index, title in enumerate(titles):
            self.write_string(0, index, title, header_format)
        cells = [table.iloc[:, index].reset_index(drop=True) for index in range(len(titles))]
        self.text_columns = frozenset(index for index, column in enumerate(cells) if not _is_number(column.dtype))
        plain = _plain_texts({index: cells[index] for index in self.text_columns})
        columns: dict[str, pd.Series] = {}
        for index, column in enumerate(cells):
            if index in self.text_columns:
                columns[f"c{index}"], columns[f"s{index}"] = self._texts(column, plain[index])
            elif pd.api.types.is_integer_dtype(column.dtype):
                columns[f"c{index}"] = column.astype("Int64")
            else:
                columns[f"c{index}"] = column.astype("float64")  # NaN and infinities: empty cells
        rows = pd.DataFrame(columns)
        rows.insert(0, "excel_row", np.arange(2, len(table) + 2))
        self.rows = rows
        self._check_dimensions(len(table), len(titles) - 1)

    def _texts(self, column: pd.Series, plain: np.ndarray) -> tuple[pd.Series, pd.Series]:
        """Plain texts (written inline, as they are), and the shared-string index of every other text.

        An id or a key is mostly unique: through the shared strings it would cost two Python calls a
        row. Plain text needs no XML escape and has no edge space to keep, so it goes as it is.
        """
        codes, others = pd.factorize(column.where(~plain), use_na_sentinel=True)
        strings = self.str_table
        indexes = np.array(
            [
                strings._get_shared_string_index(str(other)[:MAX_TEXT])  # noqa: SLF001 - xlsxwriter's shared strings, one call a distinct text
                for other in others
            ],
            dtype="int64",
        )
        strings.count += int((codes >= 0).sum()) - len(others)  # the table counts every use, not only the first
        shared = pd.Series(pd.array(indexes[codes] if len(others) else np.zeros(len(codes), "int64"), dtype="Int64"))
        return column.astype(object).where(plain, None), shared.mask(codes < 0)

    def _write_sheet_data(self) -> None:
        if self.rows is None:
            super()._write_sheet_data()
            return
        self._xml_start_tag("sheetData")
        header = self.dim_rowmax
        self.dim_rowmax = 0
        try:
            self._write_rows()  # the header, written by xlsxwriter
        finally:
            self.dim_rowmax = header
        for chunk in self._body(self.rows):
            self.fh.write(chunk)
        self._xml_end_tag("sheetData")

    def _body(self, table: pd.DataFrame) -> Iterator[str]:
        if table.empty:
            return
        # One concat() a row: a chain of || copies the row made so far at each link (a third of the
        # rendering). Every cell's SQL gives a text, never NULL, which concat() would leave out.
        cells = ", ".join(self._cell_sql(table, index) for index in range(len(self.titles)))
        with registered("list_rows", table) as database:
            rows = database.execute(
                f"""SELECT concat('<row r="', excel_row, '">', {cells}, '</row>') FROM list_rows ORDER BY excel_row"""
            )
            while chunk := rows.fetchmany(ROWS_A_CHUNK):
                yield "".join(row for (row,) in chunk)

    def _cell_sql(self, table: pd.DataFrame, index: int) -> str:
        """SQL for the XML of one cell of a row: a number, a text, or an empty cell in its column's format.

        Every cell of a row is written, the empty ones too, so that none needs its reference (r="C2"),
        which OOXML makes optional: a cell without one is the next of its row. A fifth of the lists'
        XML less to render and to deflate.
        """
        info = self.col_info.get(index)
        column_format = None if info is None else info.column_format
        style = "" if column_format is None else f' s="{column_format._get_xf_index()}"'  # noqa: SLF001 - the format's index among the styles
        start, empty = f"'<c{style}", f"'<c{style}/>'"
        value = f"c{index}"
        if index in self.text_columns:
            return (
                f"""CASE WHEN s{index} IS NOT NULL THEN {start} t="s"><v>' || s{index} || '</v></c>' """
                f"""WHEN {value} IS NOT NULL THEN {start} t="inlineStr"><is><t>' || {value} || '</t></is></c>' """
                f"ELSE {empty} END"
            )
        present = (
            f"coalesce(isfinite({value}), false)"
            if pd.api.types.is_float_dtype(table[value].dtype)
            else f"{value} IS NOT NULL"
        )
        return f"CASE WHEN {present} THEN {start}><v>' || CAST({value} AS VARCHAR) || '</v></c>' ELSE {empty} END"


def _plain_texts(columns: dict[int, pd.Series]) -> dict[int, np.ndarray]:
    """Whether each cell of each text column is plain text (PLAIN_TEXT, at most MAX_TEXT characters),
    by column index; one query for all the columns of a sheet."""
    if not columns:
        return {}
    texts = pd.DataFrame({f"t{index}": column for index, column in columns.items()})
    tests = ", ".join(
        f"coalesce(regexp_full_match(CAST(t{index} AS VARCHAR), '{PLAIN_TEXT}') "
        f"AND length(t{index}) <= {MAX_TEXT}, false) AS t{index}"
        for index in columns
    )
    with registered("texts_frame", texts) as database:
        plain = database.execute(f"SELECT {tests} FROM texts_frame").fetchnumpy()
    return {index: np.asarray(plain[f"t{index}"]).astype(bool) for index in columns}


def _is_number(dtype: np.dtype | ExtensionDtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
