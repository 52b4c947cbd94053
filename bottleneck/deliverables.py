"""The month's deliverables read back as their readers get them: CSVs, workbook and quality.json must agree."""
import csv
import io
import json
from decimal import Decimal

from python_calamine import CalamineWorkbook

from bottleneck.quality import ERROR, Check

CENTS = Decimal("0.01")
SUMMARY_FIGURES = {"Products": "products", "Premium wines": "premium", "Ordinary wines": "ordinary",
                   "Turnover": "turnover"}


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def _summary_figures(workbook: bytes) -> dict:
    """The figures of the workbook's Summary sheet, by the labels of its first column."""
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(workbook)).get_sheet_by_name("Summary").to_python()
    return {SUMMARY_FIGURES[row[0]]: row[1] for row in sheet if len(row) > 1 and row[0] in SUMMARY_FIGURES}


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
                None if summary_turnover is None else Decimal(repr(summary_turnover)).quantize(CENTS), turnover),
    ]
