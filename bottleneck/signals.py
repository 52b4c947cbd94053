"""Wine by wine: a price far from the month before's, units sold far beyond the wine's own history. Warnings
for the report's readers, never a reason to hold a month."""

import pandas as pd

from bottleneck import wording
from bottleneck.quality import PLAUSIBILITY, WARNING, Check

UNITS_JUMP_AT_LEAST = 10  # a wine going from 1 to 6 bottles is noise, not a signal
OWN_HISTORY_MONTHS = 3  # the months compared a wine must be listed in for its units to have a history
NAMED_AT_MOST = 10


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - NAMED_AT_MOST} more" if len(items) > NAMED_AT_MOST else ""
    return "; ".join(items[:NAMED_AT_MOST]) + more


def _wine(row: pd.Series) -> str:
    title = row["post_title"] if isinstance(row["post_title"], str) else f"sku {row['sku']}"
    return f"{title} ({row['product_id']})"


def price_moves(wines: pd.DataFrame, previous: pd.DataFrame | None, previous_month: str, factor: float) -> list[Check]:
    """Each wine whose price is more than `factor` times, or less than 1/`factor` of, its price the month before:
    a typing or unit error far more often than a decision (every price in cents moves a hundredfold)."""
    if previous is None:
        return []
    both = wines[["product_id", "sku", "post_title", "price"]].merge(
        previous[["product_id", "price"]], on="product_id", suffixes=("", "_before")
    )
    ratio = both["price"] / both["price_before"]
    moved = both[(ratio > factor) | (ratio < 1 / factor)].sort_values("product_id")
    items = [
        f"{_wine(row)} {wording.money(row['price_before'])} → {wording.money(row['price'])}"
        for _, row in moved.iterrows()
    ]
    return [
        Check(
            f"prices within ×{factor:g} of {previous_month}'s",
            WARNING,
            not items,
            len(items),
            0,
            f"{len(items)} wine{'s' if len(items) != 1 else ''} changed price by more than ×{factor:g} since "
            f"{previous_month}: {_listed(items)}"
            if items
            else "",
            key="price-moves",
            kind=PLAUSIBILITY,
        )
    ]


def units_jumps(wines: pd.DataFrame, history: dict[str, pd.DataFrame], factor: float) -> list[Check]:
    """Each wine that sold more than `factor` times its best month among the months compared (in at least three
    of them), and at least UNITS_JUMP_AT_LEAST units: December sells two or three times a summer month, a
    units column shifted or doubled far more."""
    if not history:
        return []
    past = pd.concat([table[["product_id", "total_sales"]] for table in history.values()], ignore_index=True)
    own = past.groupby("product_id")["total_sales"].agg(best="max", months="count").reset_index()
    now = wines[["product_id", "sku", "post_title", "total_sales"]].merge(own, on="product_id")
    jumped = now[
        (now["months"] >= OWN_HISTORY_MONTHS)
        & (now["total_sales"] >= UNITS_JUMP_AT_LEAST)
        & (now["total_sales"] > factor * now["best"])
    ].sort_values("product_id")
    items = [
        f"{_wine(row)} {int(row['total_sales']):,} units, at most {int(row['best']):,} before"
        for _, row in jumped.iterrows()
    ]
    months = len(history)
    return [
        Check(
            f"units sold within ×{factor:g} of each wine's best month",
            WARNING,
            not items,
            len(items),
            0,
            f"{len(items)} wine{'s' if len(items) != 1 else ''} sold more than ×{factor:g} "
            f"{'their' if len(items) != 1 else 'its'} best month of the "
            f"{months} before: {_listed(items)}"
            if items
            else "",
            key="units-jumps",
            kind=PLAUSIBILITY,
        )
    ]
