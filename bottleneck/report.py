"""The month's report files (reports/YYYY/MM/): the workbook, the CSVs and quality.json, made from its tables."""

import json

import pandas as pd

from bottleneck.classify import ORDINARY, PREMIUM, premium_price_floor
from bottleneck.compare import changes, comparison, month_figures
from bottleneck.csv_writer import changes_csv, rejected_csv, wines_csv
from bottleneck.workbook import report_workbook


def report_files(
    gate_record: dict,
    wines: pd.DataFrame,
    rejected_rows: pd.DataFrame,
    earlier: list[dict],
    previous_wines: pd.DataFrame | None,
    premium_zscore: float,
) -> dict[str, bytes]:
    """Each file of the month's report by name, quality.json last (its presence says the report is whole).

    `gate_record` is the gate's quality record of the month; `earlier` the MonthFigures records of the
    months before, oldest first; `previous_wines` the classified wines of the month before, if it has any.
    """
    change_table = changes(wines, previous_wines)
    quality = {**gate_record, **comparison(month_figures(gate_record["month"], wines), earlier)}
    return {
        "report.xlsx": report_workbook(
            quality,
            wines,
            rejected_rows,
            change_table,
            premium_price_floor(wines["price"], premium_zscore),
            premium_zscore,
        ),
        "premium_wines.csv": wines_csv(wines[wines["category"] == PREMIUM]),
        "ordinary_wines.csv": wines_csv(wines[wines["category"] == ORDINARY]),
        "rejected_rows.csv": rejected_csv(rejected_rows),
        "changes.csv": changes_csv(change_table),
        "quality.json": json.dumps(quality, indent=2, ensure_ascii=False).encode("utf-8"),
    }
