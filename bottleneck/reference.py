"""The reference rules of reconcile.RULES and LINKS run again by pandas and Decimal, apart from DuckDB.

The quality gate compares this engine's products, rejected rows and turnover with the SQL's: the
rules are declared once, and a fault in either engine shows as a disagreement.
"""

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from bottleneck.reconcile import JOIN_RULE, LINKS, RULES, SOURCE_FILES, Condition, Rule

CENTS = Decimal("0.01")


@dataclass
class Reference:
    clean: dict[str, pd.DataFrame]  # the rows of each source that every cleaning rule kept
    products: pd.DataFrame  # one row a joined product: erp_row, liaison_row, web_row, price, total_sales
    rejected: pd.DataFrame  # source_file, source_row, rule of every row dropped
    turnover: Decimal  # sum of price x total_sales over the products whose both values are present


def meets(table: pd.DataFrame, condition: Condition) -> pd.Series:
    column = table[condition.column]
    if condition.operator == "is present":
        kept = column.notna()
    elif condition.operator == ">":
        kept = column > condition.value
    elif condition.operator == "=":
        kept = column == condition.value
    else:
        raise ValueError(f"operator {condition.operator!r} is not one of reconcile.OPERATORS")
    return kept.fillna(False).astype(bool)  # an empty value meets no condition, as in SQL


def kept_by(table: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    if rule.keep is not None:
        return table[meets(table, rule.keep)]
    return table.sort_values("source_row").drop_duplicates(list(rule.distinct_on), keep="first")


def _dropped(table: pd.DataFrame, kept_rows: pd.Series, source: str, rule: str) -> pd.DataFrame:
    rows = table.loc[~table["source_row"].isin(kept_rows), "source_row"].astype("int64")
    return pd.DataFrame({"source_file": SOURCE_FILES[source], "source_row": rows, "rule": rule})


def reference(staged: dict[str, pd.DataFrame]) -> Reference:
    clean: dict[str, pd.DataFrame] = {}
    rejected: list[pd.DataFrame] = []
    for source, table in staged.items():
        for rule in (rule for rule in RULES if rule.source == source):
            kept = kept_by(table, rule)
            rejected.append(_dropped(table, kept["source_row"], source, rule.name))
            table = kept
        clean[source] = table
    joined = clean[LINKS[0].left].add_prefix(f"{LINKS[0].left}.")
    for link in LINKS:
        left_key, right_key = f"{link.left}.{link.left_column}", f"{link.right}.{link.right_column}"
        right = clean[link.right].add_prefix(f"{link.right}.")
        # An empty key joins nothing, in SQL; pandas would match empties with each other.
        joined = joined[joined[left_key].notna()].merge(
            right[right[right_key].notna()], left_on=left_key, right_on=right_key
        )
    products = pd.DataFrame(
        {
            "erp_row": joined["erp.source_row"],
            "liaison_row": joined["liaison.source_row"],
            "web_row": joined["web.source_row"],
            "price": joined["erp.price"],
            "total_sales": joined["web.total_sales"],
        }
    ).astype({"erp_row": "int64", "liaison_row": "int64", "web_row": "int64"})
    rejected += [_dropped(table, products[f"{source}_row"], source, JOIN_RULE) for source, table in clean.items()]
    return Reference(clean, products, pd.concat(rejected, ignore_index=True), exact_turnover(products))


def exact_turnover(products: pd.DataFrame) -> Decimal:
    """price x total_sales summed in whole cents, as Python integers (exact at any size); empty values are left
    out, for the gate to name them."""
    present = products[products["price"].notna() & products["total_sales"].notna()]
    cents = (round(price * 100) for price in present["price"].tolist())  # prices are whole cents (schemas)
    total = sum(price * int(sales) for price, sales in zip(cents, present["total_sales"].tolist(), strict=True))
    return (Decimal(total) / 100).quantize(CENTS)
