"""The month's deliverables read back as their readers get them: CSVs, workbook and quality.json must agree."""

import json
from decimal import Decimal

import fastexcel

from bottleneck.csv_reader import csv_columns
from bottleneck.quality import ERROR, Check
from bottleneck.tables import registered

CENTS = Decimal("0.01")
SUMMARY_FIGURES = {
    "Products": "products",
    "Premium wines": "premium",
    "Ordinary wines": "ordinary",
    "Turnover": "turnover",
}


def _columns(files: dict[str, bytes], name: str, columns: tuple[str, ...]) -> dict[str, list[str]]:
    try:
        return csv_columns(files[name], columns)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _summary_figures(workbook: bytes) -> dict[str, int | Decimal]:
    """The figures of the workbook's Summary sheet, by the labels of its first column, as exact decimals
    (a count as an int): each cell read as the text of the number it stores, by another reader than the writer."""
    summary = fastexcel.read_excel(workbook).load_sheet(
        "Summary", header_row=None, use_columns=[0, 1], dtypes={0: "string", 1: "string"}, schema_sample_rows=None
    )
    # DuckDB reads the Arrow columns fastexcel exposes (the PyCapsule interface): no pyarrow needed.
    with registered("summary", summary) as database:
        rows = database.execute("SELECT * FROM summary").fetchall()
    figures: dict[str, int | Decimal] = {}
    for label, value in rows:
        if label in SUMMARY_FIGURES and value is not None:
            number = Decimal(value)
            figures[SUMMARY_FIGURES[label]] = int(number) if number == number.to_integral_value() else number
    return figures


def _agrees(name: str, observed: object, expected: object) -> Check:
    return Check(
        name,
        ERROR,
        observed == expected,
        _plain(observed),
        _plain(expected),
        "" if observed == expected else "the deliverables disagree: no email is sent",
    )


def _plain(value: object) -> object:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def deliverable_checks(files: dict[str, bytes]) -> list[Check]:
    """Each figure of quality.json against the CSVs and the workbook, to the cent."""
    quality = json.loads(files["quality.json"])
    try:
        premium, ordinary = (
            _columns(files, name, ("product_id", "revenue")) for name in ("premium_wines.csv", "ordinary_wines.csv")
        )
        rejected = _columns(files, "rejected_rows.csv", ("source_row",))
    except ValueError as error:
        return [_agrees("each CSV parses, every row as wide as its header", str(error), "yes")]
    turnover = (Decimal(quality["turnover_cents"]) / 100).quantize(CENTS)
    summary = _summary_figures(files["report.xlsx"])
    summary_turnover = summary.get("turnover")
    return [
        _agrees("premium_wines.csv rows = quality.json premium", len(premium["product_id"]), quality["premium"]),
        _agrees("ordinary_wines.csv rows = quality.json ordinary", len(ordinary["product_id"]), quality["ordinary"]),
        _agrees(
            "distinct product_id of the CSVs = quality.json products",
            len({*premium["product_id"], *ordinary["product_id"]}),
            quality["products"],
        ),
        _agrees(
            "revenue summed over the CSVs = quality.json turnover",
            sum(map(Decimal, premium["revenue"] + ordinary["revenue"]), Decimal(0)).quantize(CENTS),
            turnover,
        ),
        _agrees(
            "quality.json turnover = its turnover_cents", Decimal(repr(quality["turnover"])).quantize(CENTS), turnover
        ),
        _agrees(
            "rejected_rows.csv rows = rows the quality.json funnel dropped",
            len(rejected["source_row"]),
            sum(
                stages[0]["rows"] - stages[-1]["rows"]
                for source, stages in quality["funnel"].items()
                if source != "products"
            ),
        ),
        _agrees(
            "report.xlsx Summary: products, premium, ordinary = quality.json",
            [summary.get(name) for name in ("products", "premium", "ordinary")],
            [quality["products"], quality["premium"], quality["ordinary"]],
        ),
        _agrees(
            "report.xlsx Summary turnover = quality.json turnover",
            None if summary_turnover is None else Decimal(summary_turnover).quantize(CENTS),
            turnover,
        ),
    ]
