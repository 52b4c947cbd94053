"""The month's figures, changes and checks in its readers' words: one wording for the workbook and the email."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from bottleneck.compare import CHANGE_KINDS, HEADLINE

# The columns of each list, by the name of the table's column, with the title its readers see.
WINE_COLUMNS = {
    "product_id": "Product id",
    "sku": "Web sku",
    "post_title": "Wine",
    "price": "Price (€)",
    "total_sales": "Units sold",
    "revenue": "Revenue (€)",
    "price_zscore": "Price z-score",
    "stock_quantity": "Stock",
    "stock_status": "Stock status",
}
REJECTED_COLUMNS = {"source_file": "Source file", "source_row": "Excel row", "key": "Key", "rule": "Rule"}
CHANGES_SHEET_COLUMNS = {
    "change": "Change",
    "product_id": "Product id",
    "sku": "Web sku",
    "wine": "Wine",
    "before": "Before",
    "after": "After",
}
MONEY_FIGURES = ("turnover",)
CHANGE_NAMES = {
    "new": "new wines",
    "gone": "wines gone",
    "price": "price changes",
    "premium": "now premium",
    "ordinary": "now ordinary",
    "revenue": "biggest revenue moves",
}
CHANGE_SENTENCES = {
    "new": "new this month",
    "gone": "gone since last month",
    "price": "price changed",
    "premium": "became premium",
    "ordinary": "became ordinary",
    "revenue": "revenue moved",
}
STEP_NAMES = {"raw": "rows in the export", "joined": "found in all three exports"}
# Warnings as a reader says them; a check not named here reads "name: detail".
WARNING_SENTENCES = {
    "no negative stock in erp.xlsx": (
        "{count} product has negative stock: {items}",
        "{count} products have negative stock: {items}",
    ),
}


def money(value: object) -> str:
    """Euros with thousands separators and cents: 70568.6 -> '70,568.60 €'."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):,.2f} €"


def figure(name: str, value: float | None) -> str:
    """A headline figure as shown: money for the turnover, a whole number otherwise."""
    if value is None:
        return "—"
    return money(value) if name in MONEY_FIGURES else f"{int(value):,}"


def change(name: str, value: float | None) -> str:
    """A change with its sign: '+12', '−3', '+1,234.50 €', 'no change'."""
    if value is None:
        return "—"
    if value == 0:
        return "no change"
    sign = "+" if value > 0 else "−"
    return sign + figure(name, abs(value))


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{'+' if value > 0 else '−' if value < 0 else ''}{abs(value):.1f} %"


def headline_rows(quality: dict[str, Any]) -> list[list[str]]:
    """Figure, this month, previous month, change, change in %: one row a headline figure."""
    headline = quality.get("headline") or [  # a record made before months were compared
        {"figure": name, "label": label, "current": quality[name], "previous": None, "change": None, "change_pct": None}
        for name, label in HEADLINE.items()
        if name in quality
    ]
    return [
        [
            row["label"],
            figure(row["figure"], row["current"]),
            figure(row["figure"], row["previous"]),
            change(row["figure"], row["change"]),
            percent(row["change_pct"]),
        ]
        for row in headline
    ]


def comparison_line(quality: dict[str, Any]) -> str:
    previous = quality.get("previous_month")
    if previous:
        return f"Compared with {previous['month']}."
    reason = quality.get("no_comparison")
    return f"No comparison with the month before: {reason}." if reason else "No comparison with the month before."


def change_counts_line(counts: Mapping[str, int]) -> str:
    """'2 new wines, 1 now premium', or 'No change in the wines.'"""
    parts = [f"{counts[kind]} {CHANGE_NAMES[kind]}" for kind in CHANGE_KINDS if counts.get(kind)]
    return ", ".join(parts) if parts else "No change in the wines."


def change_value(kind: str, value: object) -> str:
    """A change's before or after as a reader reads it: a price or revenue in euros, a class as is."""
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return ""
    return money(value) if kind in ("new", "gone", "price", "revenue") else str(value)


def change_sentence(row: Mapping[str, Any]) -> str:
    """'Mas Amiel 2015 (4005): price changed, 24.20 € → 26.00 €'."""
    before, after = change_value(row["change"], row["before"]), change_value(row["change"], row["after"])
    values = f"{before} → {after}" if before and after else before or after
    return f"{row['wine']} ({row['product_id']}): {CHANGE_SENTENCES[row['change']]}, {values}"


def history_rows(quality: dict[str, Any]) -> list[list[str]]:
    """Month, products, premium wines, turnover; a month without figures says why."""
    rows = []
    for month in quality.get("history", []):
        if "gap" in month:
            rows.append([month["month"], "—", "—", "—", gap_reason(month)])
        else:
            rows.append(
                [
                    month["month"],
                    figure("products", month["products"]),
                    figure("premium", month["premium"]),
                    money(month["turnover"]),
                    "",
                ]
            )
    return rows


def gap_reason(month: dict[str, Any]) -> str:
    """Why a month of the year has no figures, without repeating the month: 'no raw exports in the lake'."""
    return month["gap"].removeprefix(f"{month['month']}: ").removeprefix(f"{month['month']} ")


def shown(value: object) -> str:
    """One value of a row, as a reader reads it in a sentence: text quoted, a number plain (numpy's
    np.float64(24.2) is 24.2)."""
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    return repr(value)


def in_words(value: object) -> str:
    """A check's observed or expected value without JSON: 'price 0, sku 0', '1,234', 'yes'; a value of
    values by group: 'erp: raw 825, kept 714; web: raw 1,513, kept 714'."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # a numpy scalar
        value = value.item()
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dict):
        grouped = any(isinstance(item, dict) for item in value.values())
        return ("; " if grouped else ", ").join(
            f"{key}{':' if isinstance(item, dict) else ''} {in_words(item)}" for key, item in value.items()
        )
    if isinstance(value, list):
        return ", ".join(in_words(item) for item in value)
    return str(value)


def gate_line(checks: list[dict[str, Any]]) -> str:
    """'11 checks passed, 1 warning' (and the failures, were there any)."""
    statuses = [check.get("status") for check in checks]
    passed, warned, failed = statuses.count("passed"), statuses.count("warning"), statuses.count("failed")
    parts = [f"{passed} check{'s' if passed != 1 else ''} passed"]
    if warned:
        parts.append(f"{warned} warning{'s' if warned != 1 else ''}")
    if statuses.count("accepted"):
        parts.append(f"{statuses.count('accepted')} accepted by an operator")
    if failed:
        parts.append(f"{failed} failed")
    return ", ".join(parts)


def accepted_words(check: dict[str, Any]) -> str:
    """Who released a check, when and why: "accepted by ops@host on 2020-09-03: 'closing-down sale'"."""
    accepted = check["accepted"]
    return f"accepted by {accepted['by']} on {str(accepted['at'])[:10]}: '{accepted['reason']}'"


def judged_against_line(quality: dict[str, Any]) -> str:
    """The history the month was judged against, in a sentence ('' in a record made before the history checks)."""
    return str((quality.get("compared_with") or {}).get("summary", ""))


def check_rows(checks: list[dict[str, Any]]) -> list[list[str]]:
    """Check, result, observed (with its detail), expected: in words and numbers."""
    rows = []
    for check in checks:
        observed = in_words(check.get("observed"))
        if check.get("detail"):
            observed += f" ({check['detail']})"
        if check.get("accepted"):
            observed += f"; {accepted_words(check)}"
        rows.append(
            [str(check.get("name", "")), str(check.get("status", "")), observed, in_words(check.get("expected"))]
        )
    return rows


def funnel_rows(funnel: dict[str, Any]) -> list[list[str]]:
    """Source file, step, rows left after it: quality.json's row-count funnel as a small table."""
    rows = []
    for source, steps in funnel.items():
        if isinstance(steps, list):
            rows += [
                [f"{source}.xlsx", STEP_NAMES.get(step["stage"], f"after: {step['stage']}"), f"{step['rows']:,}"]
                for step in steps
            ]
        else:
            rows.append(["all three", "products", f"{steps:,}"])
    return rows


def warning_sentences(checks: list[dict[str, Any]]) -> list[str]:
    """Each check that did not pass, as a sentence: '2 products have negative stock: 4973, 5700'."""
    sentences = []
    for check in checks:
        if check.get("status") == "passed":
            continue
        detail = str(check.get("detail") or "")
        sentences_of_check = WARNING_SENTENCES.get(str(check.get("name")))
        if sentences_of_check and isinstance(check.get("observed"), int):
            one, many = sentences_of_check
            template = one if check["observed"] == 1 else many
            sentences.append(template.format(count=check["observed"], items=detail.partition(": ")[2] or detail))
        elif check.get("kind") == "plausibility" and detail:  # its detail is a sentence already
            released = f"; {accepted_words(check)}" if check.get("accepted") else ""
            sentences.append(detail[0].upper() + detail[1:] + released)
        else:
            sentences.append(f"{check.get('name')}: {detail or in_words(check.get('observed'))}")
    return sentences
