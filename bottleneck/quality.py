"""The data-quality gate: every check recorded with its observed and expected values, each able to fail."""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal, localcontext
from typing import Any

import pandas as pd
import pandera.errors

from bottleneck.classify import ORDINARY, PREMIUM
from bottleneck.errors import QualityGateError
from bottleneck.reconcile import DUPLICATE_RULE, RULES, SOURCE_FILES
from bottleneck.reference import Reference
from bottleneck.schemas import ClassifiedWine
from bottleneck.staging import ID_COLUMNS
from bottleneck.wording import in_words, shown

ERROR, WARNING = "error", "warning"
# A check of the month's own consistency (rows accounted for, links, two engines) is never released; a check
# of its plausibility (against the months before, or the bounds of a normal month) can be, by an operator
# who knows why the month is unusual (bottleneck-admin accept).
CONSISTENCY, PLAUSIBILITY = "consistency", "plausibility"
NAMED_AT_MOST = 10
CELL_WIDTH = 30  # of the observed and expected columns of check_table; a longer value is given whole below it
PRODUCT_VALUES = {"price": "erp", "total_sales": "web"}  # a product's value and the source it comes from
IDS = {column for columns in ID_COLUMNS.values() for column in columns}  # named as they are, never quoted


@dataclass
class Check:
    name: str
    level: str  # the level it reached: a check that passed is error-level if it could hold the month
    passed: bool
    observed: object
    expected: object
    detail: str = ""
    key: str = ""  # its name on the command line (bottleneck-admin accept --check KEY)
    kind: str = CONSISTENCY
    context: dict[str, Any] | None = None  # what a machine needs besides the words: a band, its months
    accepted: dict[str, Any] | None = None  # the operator's release that applies to it, if any

    def __post_init__(self) -> None:
        if not self.key:
            self.key = "-".join("".join(c if c.isalnum() else " " for c in self.name.lower()).split())

    @property
    def status(self) -> str:
        if self.passed:
            return "passed"
        if self.accepted:
            return "accepted"
        return "failed" if self.level == ERROR else "warning"

    def record(self) -> dict[str, Any]:
        record = asdict(self)
        del record["passed"]
        return {**record, "status": self.status}


def _named(values: Iterable[object]) -> str:
    listed = list(values)
    more = f" and {len(listed) - NAMED_AT_MOST} more" if len(listed) > NAMED_AT_MOST else ""
    return ", ".join(str(value) for value in listed[:NAMED_AT_MOST]) + more


def has_products(wines: pd.DataFrame) -> Check:
    return Check(
        "the month has products",
        ERROR,
        len(wines) > 0,
        len(wines),
        "at least 1",
        "" if len(wines) else "no product is in erp, liaison and web: no report of 0 wines is sent",
        key="has-products",
    )


def unique_product_ids(wines: pd.DataFrame) -> Check:
    repeated = wines.loc[wines["product_id"].duplicated(), "product_id"].unique()
    return Check(
        "product_id unique",
        ERROR,
        len(repeated) == 0,
        len(repeated),
        0,
        f"product_id repeated: {_named(repeated)}" if len(repeated) else "",
        key="unique-product-id",
    )


def product_values_present(wines: pd.DataFrame) -> Check:
    """An empty price or total_sales on a product is named, never summed as 0 or dropped."""
    empty = [
        f"{SOURCE_FILES[source]} row {row} column {column} (product_id {product_id})"
        for column, source in PRODUCT_VALUES.items()
        for product_id, row in zip(
            wines.loc[wines[column].isna(), "product_id"], wines.loc[wines[column].isna(), f"{source}_row"], strict=True
        )
    ]
    return Check(
        "every product has a price and a total_sales",
        ERROR,
        not empty,
        len(empty),
        0,
        f"empty: {_named(empty)}" if empty else "",
        key="values-present",
    )


def compared_columns(source: str) -> tuple[str, ...]:
    """The columns two rows of a source must share to be one row (its duplicate rule's)."""
    return next(rule.distinct_on for rule in RULES if rule.source == source and rule.name == DUPLICATE_RULE)


def conflicting_duplicates(
    clean: pd.DataFrame, file: str, key: str, value: str, name: str = "", check_key: str = ""
) -> Check:
    """One key on two rows that are not duplicates (two prices, two links, two titles) is refused, not
    resolved; each conflict names what differs between its rows."""
    repeated = clean[clean[key].notna() & clean[key].duplicated(keep=False)].sort_values(["source_row"])
    compared = [column for column in compared_columns(file.removesuffix(".xlsx")) if column != key]
    conflicts = []
    for key_value, rows in repeated.groupby(key, sort=True):
        differing = [column for column in compared if rows[column].nunique(dropna=False) > 1]
        named = [value] if value in differing else differing  # a differing value says it all: it is the check
        same = "" if value in differing else f" (the same {value}, {_cell(value, rows[value].iloc[0])})"
        conflicts.append(
            f"{key} {key_value}: {file} "
            + "; ".join(
                f"row {row['source_row']} " + ", ".join(f"{column}={_cell(column, row[column])}" for column in named)
                for _, row in rows.iterrows()
            )
            + same
        )
    return Check(
        name or f"one {value} a {key} in {file}",
        ERROR,
        not conflicts,
        len(conflicts),
        0,
        f"conflicting rows: {_named(conflicts)}" if conflicts else "",
        key=check_key or f"one-{value.replace('_', '-')}-a-{key.replace('_', '-')}",
    )


def _cell(column: str, value: object) -> str:
    return str(value) if column in IDS else shown(value)


def _only_in_one(first: pd.DataFrame, second: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of each table that the other has not (tables of the same columns, compared as multisets)."""
    columns = list(first.columns)
    if len(first) == len(second):  # the common case, cheaply: the same rows, once sorted
        ordered = [table.sort_values(columns, ignore_index=True) for table in (first, second)]
        if ordered[0].equals(ordered[1]):
            return first.iloc[:0], second.iloc[:0]
    first, second = (table.assign(_nth=table.groupby(columns).cumcount()) for table in (first, second))
    both = first.merge(second, how="outer", indicator=True)
    only_first, only_second = (
        both[both["_merge"] == side].drop(columns=["_merge", "_nth"]) for side in ("left_only", "right_only")
    )
    return only_first, only_second


def same_as_reference(products: pd.DataFrame, rejected_rows: pd.DataFrame, reference: Reference) -> Check:
    """The SQL's products and rejected rows are those the same rules give when pandas applies them."""
    rows = ["erp_row", "liaison_row", "web_row"]
    kept = _only_in_one(products[rows].astype("int64"), reference.products[rows])
    columns = ["source_file", "source_row", "rule"]
    dropped = _only_in_one(rejected_rows[columns].astype({"source_row": "int64"}), reference.rejected[columns])
    differences = [
        f"product from rows {tuple(row)} only in the {engine}"
        for engine, only in zip(("SQL", "reference"), kept, strict=True)
        for row in only.sort_values(rows).values.tolist()
    ]
    differences += [
        f"{file} row {row} rejected by '{rule}' only in the {engine}"
        for engine, only in zip(("SQL", "reference"), dropped, strict=True)
        for file, row, rule in only.sort_values(columns).values.tolist()
    ]
    return Check(
        "products and rejected rows equal the rules run apart (pandas)",
        ERROR,
        not differences,
        {"products": len(products), "rejected": len(rejected_rows)},
        {"products": len(reference.products), "rejected": len(reference.rejected)},
        _named(differences),
        key="same-as-reference",
    )


def rows_accounted_for(staged: dict[str, pd.DataFrame], products: pd.DataFrame, rejected_rows: pd.DataFrame) -> Check:
    """Per source: raw rows = rows kept in a product + rows rejected, each row in exactly one of the two."""
    observed: dict[str, dict[str, int]] = {}
    problems = []
    for source, table in staged.items():
        raw, kept = table["source_row"], products[f"{source}_row"].drop_duplicates()
        dropped = rejected_rows.loc[rejected_rows["source_file"] == SOURCE_FILES[source], "source_row"]
        observed[source] = {"raw": len(raw), "kept": len(kept), "rejected": len(dropped)}
        silent = sorted(raw[~raw.isin(kept) & ~raw.isin(dropped)].tolist())
        twice = sorted(set(dropped[dropped.isin(kept) | dropped.duplicated()].tolist()))
        recorded = pd.concat([kept, dropped])
        unknown = sorted(set(recorded[~recorded.isin(raw)].tolist()))
        if len(raw) != len(kept) + len(dropped) or silent or twice or unknown:
            problems.append(
                f"{SOURCE_FILES[source]}: {len(raw)} raw != {len(kept)} kept + {len(dropped)} rejected"
                + (f"; rows neither kept nor rejected: {_named(silent)}" if silent else "")
                + (f"; rows counted twice: {_named(twice)}" if twice else "")
                + (f"; rows not in the export: {_named(unknown)}" if unknown else "")
            )
    return Check(
        "every row accounted for: raw = kept + rejected, per source",
        ERROR,
        not problems,
        observed,
        "raw = kept + rejected",
        "; ".join(problems),
        key="rows-accounted-for",
    )


def no_web_product_lost(wines: pd.DataFrame, clean_web: pd.DataFrame) -> Check:
    lost = sorted(set(clean_web.loc[~clean_web["sku"].isin(wines["sku"]), "sku"]))
    return Check(
        "no clean web product lost in the join",
        ERROR,
        not lost,
        len(lost),
        0,
        f"sku on the web but not reconciled: {_named(lost)}" if lost else "",
        key="no-web-product-lost",
    )


def turnover_reconciled(turnover: Decimal, reference: Reference) -> Check:
    expected = reference.turnover
    return Check(
        "turnover equals the rules run apart (pandas, Decimal)",
        ERROR,
        turnover == expected,
        f"{turnover:.2f}",
        f"{expected:.2f}",
        "" if turnover == expected else f"off by {turnover - expected:.2f}",
        key="turnover-reconciled",
    )


def premium_by_decimal(prices: pd.Series, premium_zscore: float) -> pd.Series:
    """Premium (True) where the price z-score, computed exactly on whole cents, is above the threshold."""
    cents = [round(price * 100) for price in prices.tolist()]  # Python integers; prices are whole cents
    count, total = len(cents), sum(cents)
    # count x the sum of squared deviations, as an exact integer: 0 when every price is the same.
    deviations = count * sum(cent * cent for cent in cents) - total * total
    if count < 2 or deviations == 0:
        return pd.Series(False, index=prices.index)
    with localcontext() as context:
        context.prec = 40
        spread = (Decimal(deviations) / (count * (count - 1))).sqrt()
        floor = Decimal(total) / count + Decimal(repr(premium_zscore)) * spread
    return pd.Series([cent > floor for cent in cents], index=prices.index)


def premium_reconciled(wines: pd.DataFrame, premium_zscore: float) -> Check:
    complete = wines[wines["price"].notna()]
    expected = premium_by_decimal(complete["price"], premium_zscore)
    classified = complete["category"] == PREMIUM
    differing = complete.loc[classified != expected, "product_id"].tolist()
    return Check(
        f"premium wines equal the z-score above {premium_zscore:g} computed apart (Decimal)",
        ERROR,
        not differing,
        int(classified.sum()),
        int(expected.sum()),
        f"product_id classed otherwise: {_named(differing)}" if differing else "",
        key="premium-reconciled",
    )


def output_schema(wines: pd.DataFrame) -> Check:
    name, key = "products match the ClassifiedWine schema", "output-schema"
    try:
        ClassifiedWine.validate(wines, lazy=True)
        return Check(name, ERROR, True, 0, 0, key=key)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        failures = [f"{row.column}: {row.check} ({shown(row.failure_case)})" for row in cases.itertuples()]
        return Check(name, ERROR, False, len(failures), 0, _named(failures), key=key)


def no_negative_stock(staged_erp: pd.DataFrame) -> Check:
    negative = staged_erp.loc[staged_erp["stock_quantity"] < 0, "product_id"].tolist()
    return Check(
        "no negative stock in erp.xlsx",
        WARNING,
        not negative,
        len(negative),
        0,
        f"product_id with negative stock: {_named(negative)}" if negative else "",
        key="negative-stock",
        kind=PLAUSIBILITY,
    )


def gate(
    staged: dict[str, pd.DataFrame],
    wines: pd.DataFrame,
    rejected_rows: pd.DataFrame,
    turnover: Decimal,
    reference: Reference,
    premium_zscore: float,
) -> list[Check]:
    """Every check of the month; `wines` are the classified products, with the Excel row of each source."""
    clean = reference.clean
    return [
        has_products(wines),
        rows_accounted_for(staged, wines, rejected_rows),
        same_as_reference(wines, rejected_rows, reference),
        conflicting_duplicates(
            clean["liaison"],
            "liaison.xlsx",
            "id_web",
            "product_id",
            "links one-to-one: a web sku (id_web) linked to one product_id in liaison.xlsx",
            "one-product-a-sku",
        ),
        conflicting_duplicates(
            clean["liaison"],
            "liaison.xlsx",
            "product_id",
            "id_web",
            "links one-to-one: a product_id linked to one web sku (id_web) in liaison.xlsx",
            "one-sku-a-product",
        ),
        conflicting_duplicates(clean["erp"], "erp.xlsx", "product_id", "price"),
        conflicting_duplicates(clean["web"], "web.xlsx", "sku", "total_sales"),
        unique_product_ids(wines),
        product_values_present(wines),
        no_web_product_lost(wines, clean["web"]),
        turnover_reconciled(turnover, reference),
        premium_reconciled(wines, premium_zscore),
        output_schema(wines),
        no_negative_stock(staged["erp"]),
    ]


def join_loss_limits(losses: dict[str, tuple[int, int]], warning: float, error: float) -> list[Check]:
    """The share of its rows each source loses in the inner join, judged on the month alone against bounds in %:
    `losses` holds (rows lost, rows) of the clean erp.xlsx rows and of the liaison.xlsx rows linked to a sku.
    A cut export leaves the rows that matched its missing part without a match."""
    checks = []
    for source, (lost, rows) in losses.items():
        percent = 100 * lost / rows if rows else 0.0
        held, unusual = percent > error, percent > warning
        verdict = (
            f"held, above {error:g} %"
            if held
            else f"unusual, above {warning:g} %"
            if unusual
            else f"normal, at most {warning:g} %"
        )
        which = "linked" if source == "liaison" else "clean"
        checks.append(
            Check(
                f"{SOURCE_FILES[source]} rows lost in the join within bounds",
                WARNING if unusual and not held else ERROR,
                not unusual,
                f"{percent:.1f} %",
                f"at most {warning:g} %; held above {error:g} %",
                f"{lost:,} of the {rows:,} {which} {SOURCE_FILES[source]} rows ({percent:.1f} %) found no match in "
                f"the join: {verdict}",
                key=f"{source}-join-loss-limit",
                kind=PLAUSIBILITY,
            )
        )
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status == "failed"]


def failure_words(check: Check) -> str:
    """A failed check in a sentence: a plausibility check's detail says it all, in words."""
    if check.kind == PLAUSIBILITY and check.detail:
        return f"{check.name}: {check.detail}"
    return f"{check.name}: observed {in_words(check.observed)}, expected {in_words(check.expected)}" + (
        f" ({check.detail})" if check.detail else ""
    )


def gate_error(month: str, failure: str, checks: list[Check]) -> QualityGateError:
    """The typed error (exit 7) of a failed gate: the failed checks in its message, every check in its record."""
    details = "; ".join(failure_words(check) for check in failures(checks))
    return QualityGateError(f"{month}: {failure}: {details}", gate_record(month, checks)["checks"])


def gate_record(month: str, checks: list[Check]) -> dict[str, Any]:
    """The gate's verdict and every check; a failed gate's record is written to the lake as it is."""
    return {"month": month, "passed": not failures(checks), "checks": [check.record() for check in checks]}


def quality_record(
    month: str,
    wines: pd.DataFrame,
    turnover: Decimal,
    checks: list[Check],
    raw_files: dict[str, Any],
    funnel: dict[str, Any],
) -> dict[str, Any]:
    premium = int((wines["category"] == PREMIUM).sum())
    record = gate_record(month, checks)
    return {
        "month": month,
        "products": len(wines),
        "premium": premium,
        "ordinary": int((wines["category"] == ORDINARY).sum()),
        "turnover": float(turnover),
        "turnover_cents": int(turnover * 100),
        "passed": record["passed"],
        "checks": record["checks"],
        "funnel": funnel,
        "raw_files": raw_files,
    }


def check_table(checks: list[dict[str, Any]]) -> str:
    """The checks as a plain-text table (failure alerts), in words: status, observed, expected, check; then the
    details, and whole, the values too long for a column (never cut mid-value)."""
    header = ("status", "observed", "expected", "check")
    rows: list[tuple[str, ...]] = []
    details = []
    for check in checks:
        values = [in_words(check["observed"]), in_words(check["expected"])]
        if any(len(value) > CELL_WIDTH for value in values):
            details.append(f"- {check['name']}: observed {values[0]}; expected {values[1]}")
            values = [value if len(value) <= CELL_WIDTH else "(see Details)" for value in values]
        rows.append((check["status"], *values, check["name"]))
        if check.get("detail"):
            details.append(f"- {check['name']}: {check['detail']}")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines + (["", "Details:", *details] if details else []))
