"""The month's workbook: the readers' summary, then every list whole, each sheet ready to filter and print."""

import datetime as dt
import io
import math
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from bottleneck import wording
from bottleneck.classify import ORDINARY, PREMIUM
from bottleneck.compare import change_counts
from bottleneck.list_sheets import SHEET_ROWS, ListSheet
from bottleneck.wording import CHANGES_SHEET_COLUMNS, REJECTED_COLUMNS, WINE_COLUMNS

TOP_PRODUCTS = 10
SUMMARY_WIDTHS = (44, 26, 26, 26, 26, 60)  # the Summary sheet's columns, in characters
LINE_POINTS = 15  # the height of one line of text in a row, in points
PRICE_BINS = 20


def report_workbook(
    quality: dict[str, Any],
    wines: pd.DataFrame,
    rejected_rows: pd.DataFrame,
    change_table: pd.DataFrame,
    premium_price_floor: float | None,
    premium_zscore: float,
) -> bytes:
    """The month's workbook: every list whole (products by revenue), a list longer than a sheet
    continued on further sheets, and the summary says where."""
    buffer = io.BytesIO()
    # Not in_memory: each sheet's XML goes to a temporary file as it is made, so a month of a million
    # products costs no more memory than its tables.
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    # A fixed creation date (the month's first day) instead of now: a re-run gives the same bytes.
    workbook.set_properties({"created": dt.datetime.strptime(quality["month"], "%Y-%m")})
    formats = {
        "title": workbook.add_format({"bold": True, "font_size": 16}),
        "header": workbook.add_format({"bold": True, "bg_color": "#5B2333", "font_color": "#FFFFFF", "border": 1}),
        "money": workbook.add_format({"num_format": "#,##0.00 €"}),
        "integer": workbook.add_format({"num_format": "#,##0"}),
        "zscore": workbook.add_format({"num_format": "0.00"}),
        "bold": workbook.add_format({"bold": True}),
        "failed": workbook.add_format({"bg_color": "#F4CCCC"}),
        "warning": workbook.add_format({"bg_color": "#FFF2CC"}),
        "passed": workbook.add_format({"bg_color": "#D9EAD3"}),
        "accepted": workbook.add_format({"bg_color": "#DDEBF7"}),
        "wrapped": workbook.add_format({"text_wrap": True, "valign": "top"}),
    }
    summary = workbook.add_worksheet("Summary")
    # By revenue, ties by product id: the order the email ranks its top wines in (mail.message.revenue_rank).
    ranked = wines.sort_values(["revenue", "product_id"], ascending=[False, True])
    changes_shown = change_table.copy()
    for column in ("before", "after"):
        changes_shown[column] = [
            wording.change_value(kind, value) or None
            for kind, value in zip(change_table["change"], change_table[column], strict=True)
        ]
    lists = {
        "Changes": (changes_shown, CHANGES_SHEET_COLUMNS),
        "All products": (ranked, WINE_COLUMNS),
        "Premium": (ranked[ranked["category"] == PREMIUM], WINE_COLUMNS),
        "Ordinary": (ranked[ranked["category"] == ORDINARY], WINE_COLUMNS),
        "Rejected rows": (rejected_rows, REJECTED_COLUMNS),
    }
    continued: list[str] = []
    for name, (table, columns) in lists.items():
        parts = [table.iloc[start : start + SHEET_ROWS] for start in range(0, max(len(table), 1), SHEET_ROWS)]
        names = [name] + [f"{name} ({number})" for number in range(2, len(parts) + 1)]
        for part, sheet_name in zip(parts, names, strict=True):
            _table_sheet(workbook.add_worksheet(sheet_name, worksheet_class=ListSheet), part, columns, formats)
        if len(parts) > 1:
            continued.append(
                f"Sheet '{name}' lists {len(table):,} rows, {SHEET_ROWS:,} a sheet (Excel's limit): "
                f"continued on {', '.join(repr(other) for other in names[1:])}."
            )
    # The changes are read rather than filtered: their wine names are shown whole.
    longest = max([len(CHANGES_SHEET_COLUMNS["wine"]), *map(len, changes_shown["wine"].astype(str))]) + 2
    workbook.get_worksheet_by_name("Changes").set_column(3, 3, longest)
    _summary_sheet(
        workbook,
        summary,
        quality,
        ranked,
        change_counts(change_table),
        premium_price_floor,
        premium_zscore,
        continued,
        formats,
    )
    workbook.close()
    return buffer.getvalue()


def _cells(values: pd.Series) -> list[Any]:
    """Python values xlsxwriter can write: NaN and NA become blank cells, numpy scalars plain numbers."""
    return [None if _missing(value) else value for value in values.tolist()]


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _table_sheet(sheet: ListSheet, table: pd.DataFrame, columns: dict[str, str], formats: dict[str, Format]) -> None:
    number_formats = {
        "price": "money",
        "revenue": "money",
        "total_sales": "integer",
        "stock_quantity": "integer",
        "price_zscore": "zscore",
        "source_row": "integer",
    }
    for index, (column, title) in enumerate(columns.items()):
        widest = max([len(title)] + [len(str(value)) for value in _cells(table[column].head(500))]) + 2
        number_format = number_formats.get(column)
        sheet.set_column(index, index, min(widest, 60), None if number_format is None else formats[number_format])
    sheet.list_table(table[list(columns)], list(columns.values()), formats["header"])
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(table), 1), len(columns) - 1)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)


def _summary_sheet(
    workbook: xlsxwriter.Workbook,
    sheet: Worksheet,
    quality: dict[str, Any],
    ranked: pd.DataFrame,
    counts: dict[str, int],
    premium_price_floor: float | None,
    premium_zscore: float,
    cut: list[str],
    formats: dict[str, Format],
) -> None:
    """What the readers act on first: the figures and their changes, a year at a glance, then the gate."""
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    for column, width in enumerate(SUMMARY_WIDTHS):
        sheet.set_column(column, column, width)
    sheet.write_string(0, 0, f"BottleNeck monthly report — {quality['month']}", formats["title"])
    previous = quality.get("previous_month")
    header = [
        "Figure",
        "This month",
        f"Previous month ({previous['month']})" if previous else "Previous month",
        "Change",
        "Change %",
    ]
    _header_row(sheet, 1, header, formats)
    for row, figure in enumerate(quality["headline"], start=2):
        number_format = formats["money" if figure["figure"] in wording.MONEY_FIGURES else "integer"]
        sheet.write_string(row, 0, figure["label"], formats["bold"])
        sheet.write_number(row, 1, figure["current"], number_format)
        if previous:
            sheet.write_number(row, 2, figure["previous"], number_format)
            sheet.write_string(row, 3, wording.change(figure["figure"], figure["change"]))
            sheet.write_string(row, 4, wording.percent(figure["change_pct"]))
    row = 2 + len(quality["headline"])
    sheet.write_string(row, 0, "Premium rule: price z-score above", formats["bold"])
    sheet.write_number(row, 1, premium_zscore, formats["zscore"])
    if premium_price_floor is not None:
        row += 1
        sheet.write_string(row, 0, "Premium from a price of", formats["bold"])
        sheet.write_number(row, 1, premium_price_floor, formats["money"])
    row += 2
    sheet.write_string(row, 0, wording.comparison_line(quality))
    if previous:
        row += 1
        sheet.write_string(row, 0, f"Changes: {wording.change_counts_line(counts)} (sheet Changes, changes.csv).")
    for note in cut:
        row += 1
        sheet.write_string(row, 0, note, formats["warning"])
    row = _year_at_a_glance(workbook, sheet, quality, row + 2, formats)
    judged = wording.judged_against_line(quality)
    row = _gate_tables(sheet, quality["checks"], quality.get("funnel", {}), judged, row + 1, formats)
    if len(ranked):
        _charts(workbook, sheet, ranked, premium_price_floor, row + 2, formats)


def _header_row(sheet: Worksheet, row: int, titles: list[str], formats: dict[str, Format]) -> None:
    for column, title in enumerate(titles):
        sheet.write_string(row, column, title, formats["header"])


def _year_at_a_glance(
    workbook: xlsxwriter.Workbook, sheet: Worksheet, quality: dict[str, Any], first_row: int, formats: dict[str, Format]
) -> int:
    """The last (up to) twelve months as a table and a chart; a month without figures is a gap, not a zero."""
    sheet.write_string(first_row, 0, "A year at a glance", formats["title"])
    _header_row(sheet, first_row + 1, ["Month", "Products", "Premium wines", "Turnover", "", "Note"], formats)
    months = quality.get("history", [])
    for row, month in enumerate(months, start=first_row + 2):
        sheet.write_string(row, 0, month["month"])
        if "gap" in month:
            sheet.write_string(row, 5, f"no figures: {wording.gap_reason(month)}")
            continue
        sheet.write_number(row, 1, month["products"], formats["integer"])
        sheet.write_number(row, 2, month["premium"], formats["integer"])
        sheet.write_number(row, 3, month["turnover"], formats["money"])
    last = first_row + 1 + len(months)
    turnover = workbook.add_chart({"type": "column"})
    turnover.add_series(
        {
            "name": "Turnover (€)",
            "categories": ["Summary", first_row + 2, 0, last, 0],
            "values": ["Summary", first_row + 2, 3, last, 3],
            "fill": {"color": "#C9A66B"},
        }
    )
    counts = workbook.add_chart({"type": "line"})
    for column, name, color in ((1, "Products", "#5B2333"), (2, "Premium wines", "#2E6B3F")):
        counts.add_series(
            {
                "name": name,
                "categories": ["Summary", first_row + 2, 0, last, 0],
                "values": ["Summary", first_row + 2, column, last, column],
                "y2_axis": True,
                "marker": {"type": "circle"},
                "line": {"color": color},
            }
        )
    turnover.combine(counts)
    turnover.set_title({"name": "Turnover, products and premium wines by month"})
    turnover.set_y_axis({"name": "Turnover (€)"})
    counts.set_y2_axis({"name": "Wines"})
    turnover.show_blanks_as("gap")
    turnover.set_size({"width": 760, "height": 320})
    sheet.insert_chart(last + 2, 0, turnover)
    return last + 18


def _gate_tables(
    sheet: Worksheet,
    checks: list[dict[str, Any]],
    funnel: dict[str, Any],
    judged: str,
    first_row: int,
    formats: dict[str, Format],
) -> int:
    """The gate in one line, the history it judged the month against, its warnings as sentences, its checks and
    the row funnel in words and numbers."""
    sheet.write_string(first_row, 0, "Quality gate", formats["title"])
    sheet.write_string(first_row + 1, 0, wording.gate_line(checks), formats["bold"])
    row = first_row + 2
    if judged:
        sheet.write_string(row, 0, judged)
        row += 1
    for sentence in wording.warning_sentences(checks):
        sheet.write_string(row, 0, sentence, formats["warning"])
        row += 1
    header = row + 1
    _header_row(sheet, header, ["Check", "Result", "Observed", "Expected"], formats)
    for row, (name, status, observed, expected) in enumerate(wording.check_rows(checks), start=header + 1):
        # Wrapped, not cut: a check's name and an observed value with its detail run longer than a cell.
        # The row is made tall enough for its longest cell: a spreadsheet does not grow it when printing,
        # and the wrapped lines would run over the next check.
        lines = max(
            math.ceil(len(text) / width)
            for text, width in (
                (name, SUMMARY_WIDTHS[0]),
                (_short(observed), SUMMARY_WIDTHS[2]),
                (_short(expected), SUMMARY_WIDTHS[3]),
            )
        )
        sheet.set_row(row, LINE_POINTS * max(lines, 1))
        sheet.write_string(row, 0, name, formats["wrapped"])
        sheet.write_string(row, 1, status, formats.get(status))
        sheet.write_string(row, 2, _short(observed), formats["wrapped"])
        sheet.write_string(row, 3, _short(expected), formats["wrapped"])
    funnel_rows = wording.funnel_rows(funnel)
    if funnel_rows:
        title = row + 2
        sheet.write_string(title, 0, "Rows through the pipeline", formats["title"])
        _header_row(sheet, title + 1, ["Source", "Step", "Rows"], formats)
        for row, cells in enumerate(funnel_rows, start=title + 2):
            for column, value in enumerate(cells):
                sheet.write_string(row, column, value)
    return row


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 250 else text[:247] + "..."


def _charts(
    workbook: xlsxwriter.Workbook,
    sheet: Worksheet,
    ranked: pd.DataFrame,
    premium_price_floor: float | None,
    first_row: int,
    formats: dict[str, Format],
) -> None:
    data = workbook.add_worksheet("Chart data")
    top = ranked.head(TOP_PRODUCTS)
    data.write_row(0, 0, ["Wine", "Revenue (€)"], formats["header"])
    for row, (title, revenue) in enumerate(zip(top["post_title"], top["revenue"], strict=True), start=1):
        data.write_string(row, 0, "" if _missing(title) else str(title))
        data.write_number(row, 1, float(revenue))
    bar = workbook.add_chart({"type": "bar"})
    bar.add_series(
        {
            "name": "Revenue (€)",
            "categories": ["Chart data", 1, 0, len(top), 0],
            "values": ["Chart data", 1, 1, len(top), 1],
            "fill": {"color": "#5B2333"},
        }
    )
    bar.set_title({"name": f"Top {len(top)} wines by revenue"})
    bar.set_y_axis({"reverse": True, "num_font": {"size": 8}})
    bar.set_legend({"none": True})
    bar.set_size({"width": 760, "height": 420})
    sheet.insert_chart(first_row, 0, bar)

    prices = ranked["price"].astype("float64")
    counts, edges = np.histogram(prices, bins=PRICE_BINS)
    premium_counts, _ = np.histogram(prices[ranked["category"] == PREMIUM], bins=edges)
    data.write_row(0, 3, ["Price band (€)", "Ordinary", "Premium"], formats["header"])
    bands = zip(edges[:-1], edges[1:], counts, premium_counts, strict=True)
    for row, (low, high, count, premium) in enumerate(bands, start=1):
        data.write_string(row, 3, f"{low:.0f}–{high:.0f}")
        data.write_number(row, 4, int(count - premium))
        data.write_number(row, 5, int(premium))
    histogram = workbook.add_chart({"type": "column", "subtype": "stacked"})
    for column, name, color in ((4, "Ordinary", "#C9A66B"), (5, "Premium", "#5B2333")):
        histogram.add_series(
            {
                "name": name,
                "categories": ["Chart data", 1, 3, PRICE_BINS, 3],
                "values": ["Chart data", 1, column, PRICE_BINS, column],
                "fill": {"color": color},
                "gap": 10,
            }
        )
    floor = f" — premium above {premium_price_floor:,.2f} €" if premium_price_floor is not None else ""
    histogram.set_title({"name": f"Price distribution{floor}"})
    histogram.set_x_axis({"name": "Price (€)"})
    histogram.set_y_axis({"name": "Wines"})
    histogram.set_size({"width": 760, "height": 380})
    sheet.insert_chart(first_row + 22, 0, histogram)
