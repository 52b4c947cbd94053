"""Month over month: a month's headline figures, its changes against the month before, a year of figures."""

from decimal import Decimal
from typing import Any

import pandas as pd

from bottleneck.classify import PREMIUM

CENTS = Decimal("0.01")
HEADLINE = {
    "products": "Products",
    "premium": "Premium wines",
    "ordinary": "Ordinary wines",
    "units": "Units sold",
    "turnover": "Turnover",
}
CHANGE_KINDS = ("new", "gone", "price", "premium", "ordinary", "revenue")
CHANGE_COLUMNS = ("change", "product_id", "sku", "wine", "before", "after")
TOP_MOVERS = 10
HISTORY_MONTHS = 12


def turnover(wines: pd.DataFrame) -> Decimal:
    """The sum of the revenues, each in whole cents, in exact decimal."""
    return sum((Decimal(f"{revenue:.2f}") for revenue in wines["revenue"]), Decimal(0)).quantize(CENTS)


def month_figures(month: str, wines: pd.DataFrame) -> dict[str, Any]:
    """The headline figures of one month's classified wines."""
    premium = int((wines["category"] == PREMIUM).sum())
    return {
        "month": month,
        "products": len(wines),
        "premium": premium,
        "ordinary": len(wines) - premium,
        "units": int(wines["total_sales"].sum()),
        "turnover": float(turnover(wines)),
    }


def headline(current: dict[str, Any], previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each headline figure with the previous month's value, the change and the change in % (None without one)."""
    rows = []
    for figure, label in HEADLINE.items():
        now = current[figure]
        before = None if previous is None else previous[figure]
        change = None if before is None else _exact(now) - _exact(before)
        percent = None if change is None or not before else float(change / _exact(before) * 100)
        rows.append(
            {
                "figure": figure,
                "label": label,
                "current": now,
                "previous": before,
                "change": None if change is None else _plain(change),
                "change_pct": percent,
            }
        )
    return rows


def _exact(value: float) -> Decimal:
    return Decimal(str(value))


def _plain(value: Decimal) -> int | float:
    exponent = value.as_tuple().exponent
    whole = value == value.to_integral_value() and isinstance(exponent, int) and exponent >= 0
    return int(value) if whole else float(value)


def changes(current: pd.DataFrame, previous: pd.DataFrame | None, movers: int = TOP_MOVERS) -> pd.DataFrame:
    """One row per change between two months' classified wines, matched on product_id; none without a
    previous month.

    `new` and `gone` carry the price, `price` the two prices, `premium` / `ordinary` (the class a wine
    moved to) the two classes, and `revenue` the two revenues of the `movers` wines whose revenue
    moved most (ties by product_id).
    """
    if previous is None:
        return pd.DataFrame(columns=list(CHANGE_COLUMNS))
    columns = ["product_id", "sku", "post_title", "price", "revenue", "category"]
    both = current[columns].merge(
        previous[columns], on="product_id", how="outer", suffixes=("", "_before"), indicator=True
    )
    rows: list[tuple[object, ...]] = []

    def add(
        kind: str,
        table: pd.DataFrame,
        before: str | None,
        after: str | None,
        name: str = "post_title",
        sku: str = "sku",
    ) -> None:
        for row in table.itertuples(index=False):
            rows.append(
                (
                    kind,
                    int(row.product_id),  # type: ignore[arg-type]  # the merge key: a whole number, never empty
                    getattr(row, sku),
                    getattr(row, name),
                    _value(getattr(row, before)) if before else "",
                    _value(getattr(row, after)) if after else "",
                )
            )

    add("new", both[both["_merge"] == "left_only"], None, "price")
    add("gone", both[both["_merge"] == "right_only"], "price_before", None, "post_title_before", "sku_before")
    kept = both[both["_merge"] == "both"]
    add("price", kept[kept["price"].round(2) != kept["price_before"].round(2)], "price_before", "price")
    reclassed = kept[kept["category"] != kept["category_before"]]
    add(PREMIUM, reclassed[reclassed["category"] == PREMIUM], "category_before", "category")
    add("ordinary", reclassed[reclassed["category"] != PREMIUM], "category_before", "category")
    moved = kept.assign(moved=(kept["revenue"] - kept["revenue_before"]).round(2))
    moved = moved[moved["moved"] != 0].assign(size=lambda t: t["moved"].abs())
    add(
        "revenue",
        moved.sort_values(["size", "product_id"], ascending=[False, True]).head(movers),
        "revenue_before",
        "revenue",
    )
    table = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))
    order = table["change"].map({kind: index for index, kind in enumerate(CHANGE_KINDS)})
    # Movers keep their rank; every other kind reads by product_id.
    rank = table.index.where(table["change"] == "revenue", 0)
    return (
        table.assign(order=order, rank=rank)
        .sort_values(["order", "rank", "product_id"], kind="stable")
        .drop(columns=["order", "rank"])
        .reset_index(drop=True)
    )


def _value(value: object) -> object:
    return round(float(value), 2) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def change_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many rows of each kind, in CHANGE_KINDS order, kinds without a row left out."""
    counts = table["change"].value_counts()
    return {kind: int(counts[kind]) for kind in CHANGE_KINDS if kind in counts}


def comparison(current: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """quality.json's month-over-month keys, from this month's figures and the earlier months' records.

    `earlier` holds the records of the months before, oldest first, the last one the previous month:
    each `{"month", "figures"}` with figures, or `{"month", "figures": None, "reason"}` without.
    """
    previous = earlier[-1] if earlier else None
    figures = previous["figures"] if previous else None
    return {
        "units": current["units"],
        "previous_month": figures,
        "no_comparison": None if figures else (previous["reason"] if previous else "no month before this one"),
        "headline": headline(current, figures),
        "history": [record["figures"] or {"month": record["month"], "gap": record["reason"]} for record in earlier]
        + [current],
    }
