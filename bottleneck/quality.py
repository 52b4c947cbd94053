"""The data-quality gate: every check recorded with its observed and expected values."""
from dataclasses import asdict, dataclass
from decimal import Decimal

import pandas as pd
import pandera.errors

from bottleneck.classify import PREMIUM
from bottleneck.reconcile import JOIN_RULE, SOURCE_FILES
from bottleneck.schemas import ClassifiedWine

ERROR, WARNING, INFO = "error", "warning", "info"
CENTS = Decimal("0.01")
NAMED_AT_MOST = 10


@dataclass
class Check:
    name: str
    level: str
    passed: bool
    observed: object
    expected: object
    detail: str = ""

    def record(self) -> dict:
        status = "passed" if self.passed else ("failed" if self.level == ERROR else "warning")
        record = asdict(self)
        del record["passed"]
        return {**record, "status": status}


def _named(values) -> str:
    values = list(values)
    more = f" and {len(values) - NAMED_AT_MOST} more" if len(values) > NAMED_AT_MOST else ""
    return ", ".join(str(value) for value in values[:NAMED_AT_MOST]) + more


def clean_rows(staged: pd.DataFrame, rejected_rows: pd.DataFrame, source: str) -> pd.DataFrame:
    """The staged rows that no cleaning rule rejected (the join's losses stay in)."""
    dropped = rejected_rows[(rejected_rows["source_file"] == SOURCE_FILES[source]) & (rejected_rows["rule"] != JOIN_RULE)]
    return staged[~staged["source_row"].isin(dropped["source_row"])]


def unique_product_ids(wines: pd.DataFrame) -> Check:
    repeated = wines.loc[wines["product_id"].duplicated(), "product_id"].unique()
    return Check("product_id unique", ERROR, len(repeated) == 0, len(repeated), 0,
                 f"product_id repeated: {_named(repeated)}" if len(repeated) else "")


def no_missing_values(wines: pd.DataFrame) -> Check:
    columns = ["product_id", "sku", "price", "total_sales"]
    nulls = {column: int(wines[column].isna().sum()) for column in columns}
    empty = {column: count for column, count in nulls.items() if count}
    return Check("no nulls in product_id, sku, price, total_sales", ERROR, not empty, nulls,
                 {column: 0 for column in columns}, f"nulls: {empty}" if empty else "")


def conflicting_duplicates(clean: pd.DataFrame, file: str, key: str, value: str) -> Check:
    """One key with two different values (two prices, two sales figures) is refused, not resolved."""
    repeated = clean[clean[key].duplicated(keep=False)].sort_values(["source_row"])
    conflicts = [
        f"{key} {name}: " + "; ".join(f"row {row.source_row} {value}={getattr(row, value)}" for row in rows.itertuples())
        for name, rows in repeated.groupby(key, sort=True)
    ]
    return Check(f"one {value} a {key} in {file}", ERROR, not conflicts, len(conflicts), 0,
                 f"conflicting rows: {_named(conflicts)}" if conflicts else "")


def present_in_every_source(wines: pd.DataFrame, clean: dict[str, pd.DataFrame]) -> Check:
    links = set(zip(clean["liaison"]["product_id"], clean["liaison"]["id_web"]))
    erp_ids, web_skus = set(clean["erp"]["product_id"]), set(clean["web"]["sku"])
    orphans = [
        product_id for product_id, sku in zip(wines["product_id"], wines["sku"])
        if product_id not in erp_ids or sku not in web_skus or (product_id, sku) not in links
    ]
    return Check("every product present in erp, liaison and web", ERROR, not orphans, len(orphans), 0,
                 f"product_id not in every source: {_named(orphans)}" if orphans else "")


def no_web_product_lost(wines: pd.DataFrame, clean_web: pd.DataFrame) -> Check:
    lost = sorted(set(clean_web["sku"]) - set(wines["sku"]))
    return Check("no clean web product lost in the join", ERROR, not lost, len(lost), 0,
                 f"sku on the web but not reconciled: {_named(lost)}" if lost else "")


def independent_turnover(staged: dict[str, pd.DataFrame]) -> Decimal:
    """The reference rules applied again with pandas and Decimal, apart from the SQL and its output."""
    erp = staged["erp"][staged["erp"]["price"] > 0].drop_duplicates(["product_id", "price"])
    web = staged["web"]
    web = web[(web["post_type"] == "product") & web["sku"].notna()].drop_duplicates(["sku", "total_sales"])
    liaison = staged["liaison"][staged["liaison"]["id_web"].notna()].drop_duplicates(["product_id", "id_web"])
    joined = erp.merge(liaison, on="product_id").merge(web, left_on="id_web", right_on="sku")
    total = sum((Decimal(f"{price:.2f}") * int(sales) for price, sales in zip(joined["price"], joined["total_sales"])),
                Decimal(0))
    return total.quantize(CENTS)


def turnover_reconciled(turnover: Decimal, staged: dict[str, pd.DataFrame]) -> Check:
    expected = independent_turnover(staged)
    return Check("turnover equals an independent computation from the staged inputs", ERROR,
                 turnover == expected, f"{turnover:.2f}", f"{expected:.2f}",
                 "" if turnover == expected else f"off by {turnover - expected:.2f}")


def output_schema(wines: pd.DataFrame) -> Check:
    try:
        ClassifiedWine.validate(wines, lazy=True)
        return Check("products match the ClassifiedWine schema", ERROR, True, 0, 0)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        failures = [f"{row.column}: {row.check} ({row.failure_case!r})" for row in cases.itertuples()]
        return Check("products match the ClassifiedWine schema", ERROR, False, len(failures), 0, _named(failures))


def classes_add_up(wines: pd.DataFrame) -> Check:
    premium = int((wines["category"] == PREMIUM).sum())
    ordinary = len(wines) - premium
    return Check("premium + ordinary = products", ERROR, premium + ordinary == len(wines), premium + ordinary, len(wines))


def no_negative_stock(staged_erp: pd.DataFrame) -> Check:
    negative = staged_erp.loc[staged_erp["stock_quantity"] < 0, "product_id"].tolist()
    return Check("no negative stock in erp.xlsx", WARNING, not negative, len(negative), 0,
                 f"product_id with negative stock: {_named(negative)}" if negative else "")


def gate(staged: dict[str, pd.DataFrame], wines: pd.DataFrame, rejected_rows: pd.DataFrame,
         turnover: Decimal, funnel: dict) -> list[Check]:
    clean = {source: clean_rows(staged[source], rejected_rows, source) for source in staged}
    return [
        unique_product_ids(wines),
        no_missing_values(wines),
        conflicting_duplicates(clean["erp"], "erp.xlsx", "product_id", "price"),
        conflicting_duplicates(clean["web"], "web.xlsx", "sku", "total_sales"),
        conflicting_duplicates(clean["liaison"], "liaison.xlsx", "product_id", "id_web"),
        present_in_every_source(wines, clean),
        no_web_product_lost(wines, clean["web"]),
        turnover_reconciled(turnover, staged),
        output_schema(wines),
        classes_add_up(wines),
        no_negative_stock(staged["erp"]),
        Check("row-count funnel per source", INFO, True, funnel, None),
    ]


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.level == ERROR and not check.passed]


def quality_record(month: str, wines: pd.DataFrame, turnover: Decimal, checks: list[Check], raw_files: dict) -> dict:
    premium = int((wines["category"] == PREMIUM).sum())
    return {
        "month": month,
        "products": len(wines),
        "premium": premium,
        "ordinary": len(wines) - premium,
        "turnover": float(turnover),
        "turnover_cents": int(turnover * 100),
        "passed": not failures(checks),
        "checks": [check.record() for check in checks],
        "raw_files": raw_files,
    }
