"""A month against its own history: what each month measures (its profile), for the months after it to judge
themselves by, and the checks that compare a month with the months before it.

The months before are their MonthFigures records, made from their raw exports alone: never the month's
own run.
"""

from typing import Any

import pandas as pd

from bottleneck.classify import PREMIUM
from bottleneck.compare import turnover
from bottleneck.quality import ERROR, PLAUSIBILITY, Check

LOOKED_BACK = 12  # the months before whose figures a month reads
STALE_SOURCES = ("erp", "web")  # exports that change every month (stock and prices, sales); not liaison.xlsx


def join_losses(funnel: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(rows lost in the join, clean rows) of erp and liaison: the rows each kept that the inner join left out."""
    return {
        source: (funnel[source][-2]["rows"] - funnel[source][-1]["rows"], funnel[source][-2]["rows"])
        for source in ("erp", "liaison")
    }


def month_profile(funnel: dict[str, Any], wines: pd.DataFrame) -> dict[str, float]:
    """What a month measures, for the months after it to judge themselves by: rows of each export, products,
    units, turnover, premium share and the shares of rows lost in the join."""
    products = len(wines)
    losses = join_losses(funnel)
    return {
        "erp_rows": funnel["erp"][0]["rows"],
        "web_rows": funnel["web"][0]["rows"],
        "liaison_rows": funnel["liaison"][0]["rows"],
        "products": products,
        "units": int(wines["total_sales"].sum()),
        "turnover": float(turnover(wines)),
        "premium_share": int((wines["category"] == PREMIUM).sum()) / products if products else 0.0,
        **{f"{source}_join_loss": lost / clean if clean else 0.0 for source, (lost, clean) in losses.items()},
    }


def stale_uploads(manifest: dict[str, Any], records: list[dict[str, Any]]) -> list[Check]:
    """erp.xlsx and web.xlsx, whose stock, prices and sales change every month, against every export the months
    before recorded: the same bytes are a file uploaded again. liaison.xlsx changes only with the catalogue:
    last month's file is normal, and a link table really out of date shows in the join checks."""
    earlier: dict[str, str] = {}
    for record in records:  # oldest first: a file seen twice is named by its latest month
        for source, sha256 in (record.get("sha256") or {}).items():
            earlier[sha256] = f"the {source}.xlsx of {record['month']}"
    if not earlier:
        return []
    months = len([record for record in records if record.get("sha256")])
    checks = []
    for source in STALE_SOURCES:
        sha256 = manifest[source]["sha256"]
        same = earlier.get(sha256)
        checks.append(
            Check(
                f"{source}.xlsx a new export, not a file of the months before",
                ERROR,
                same is None,
                same or "a new file",
                f"none of the exports of the {months} month{'s' if months != 1 else ''} before",
                f"{source}.xlsx is byte for byte {same} (sha256 {sha256[:12]}): a stale upload, held" if same else "",
                key=f"stale-{source}",
                kind=PLAUSIBILITY,
            )
        )
    return checks
