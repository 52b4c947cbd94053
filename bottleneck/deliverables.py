"""The month's deliverables read back as their readers get them: CSVs, workbook and quality.json must agree."""
import csv
import io
import json
from decimal import Decimal

import fastexcel

from bottleneck.quality import ERROR, Check
from bottleneck.tables import connection

CENTS = Decimal("0.01")
SUMMARY_FIGURES = {"Products": "products", "Premium wines": "premium", "Ordinary wines": "ordinary",
                   "Turnover": "turnover"}


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def _summary_figures(workbook: bytes) -> dict:
    """The figures of the workbook's Summary sheet, by the labels of its first column, as exact decimals
    (a count as an int): each cell read as the text of the number it stores, by another reader than the writer."""
    summary = fastexcel.read_excel(workbook).load_sheet("Summary", header_row=None, use_columns=[0, 1],
                                                        dtypes={0: "string", 1: "string"}, schema_sample_rows=None)
    # DuckDB reads the Arrow columns fastexcel exposes (the PyCapsule interface): no pyarrow needed.
    rows = connection().execute("SELECT * FROM summary").fetchall()
    figures = {}
    for label, value in rows:
        if label in SUMMARY_FIGURES and value is not None:
            number = Decimal(value)
            figures[SUMMARY_FIGURES[label]] = int(number) if number == number.to_integral_value() else number
    return figures


def _agrees(name: str, observed, expected) -> Check:
    return Check(name, ERROR, observed == expected, _plain(observed), _plain(expected),
                 "" if observed == expected else "the deliverables disagree: no email is sent")


def _plain(value):
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def deliverable_checks(files: dict[str, bytes]) -> list[Check]:
    """Each figure of quality.json against the CSVs and the workbook, to the cent."""
    quality = json.loads(files["quality.json"])
    premium, ordinary = _csv_rows(files["premium_wines.csv"]), _csv_rows(files["ordinary_wines.csv"])
    turnover = (Decimal(quality["turnover_cents"]) / 100).quantize(CENTS)
    summary = _summary_figures(files["report.xlsx"])
    summary_turnover = summary.get("turnover")
    return [
        _agrees("premium_wines.csv rows = quality.json premium", len(premium), quality["premium"]),
        _agrees("ordinary_wines.csv rows = quality.json ordinary", len(ordinary), quality["ordinary"]),
        _agrees("distinct product_id of the CSVs = quality.json products",
                len({row["product_id"] for row in premium + ordinary}), quality["products"]),
        _agrees("revenue summed over the CSVs = quality.json turnover",
                sum((Decimal(row["revenue"]) for row in premium + ordinary), Decimal(0)).quantize(CENTS), turnover),
        _agrees("quality.json turnover = its turnover_cents", Decimal(repr(quality["turnover"])).quantize(CENTS),
                turnover),
        _agrees("rejected_rows.csv rows = rows the quality.json funnel dropped",
                len(_csv_rows(files["rejected_rows.csv"])),
                sum(stages[0]["rows"] - stages[-1]["rows"] for source, stages in quality["funnel"].items()
                    if source != "products")),
        _agrees("report.xlsx Summary: products, premium, ordinary = quality.json",
                [summary.get(name) for name in ("products", "premium", "ordinary")],
                [quality["products"], quality["premium"], quality["ordinary"]]),
        _agrees("report.xlsx Summary turnover = quality.json turnover",
                None if summary_turnover is None else Decimal(summary_turnover).quantize(CENTS), turnover),
    ]
