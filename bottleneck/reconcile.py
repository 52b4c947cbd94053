"""Cleans, deduplicates and joins the three staged exports with the DuckDB SQL of sql/.

Each reference rule is declared once, below; the SQL is rendered from the declarations, and the
quality gate runs the same declarations through another engine (bottleneck.reference).
"""

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import backoff
import duckdb
import pandas as pd

from bottleneck import tables

SOURCE_FILES = {"erp": "erp.xlsx", "web": "web.xlsx", "liaison": "liaison.xlsx"}
KEYS = {"erp": "product_id", "web": "sku", "liaison": "product_id"}
JOIN_RULE = "no match in the inner join of erp, liaison and web"
DUPLICATE_RULE = "duplicate row"
SPACES = re.compile(r"[ \xa0]+")


@dataclass(frozen=True)
class Condition:
    """`column operator value`, the operator one of OPERATORS; a row whose column is empty never meets it."""

    column: str
    operator: str
    value: object = None


OPERATORS = (">", "=", "is present")


@dataclass(frozen=True)
class Rule:
    """A cleaning rule: view `view` keeps the rows of `after` that meet `keep`, or, with `distinct_on`,
    the first row (by Excel row) of each set of rows equal in those columns."""

    source: str
    view: str
    after: str
    name: str
    keep: Condition | None = None
    distinct_on: tuple[str, ...] = ()


RULES = (
    # An ERP row whose price is not above zero is no sellable product.
    Rule("erp", "erp_priced", "staged_erp", "price must be above 0", keep=Condition("price", ">", 0)),
    Rule(
        "erp",
        "erp_clean",
        "erp_priced",
        DUPLICATE_RULE,
        distinct_on=("product_id", "onsale_web", "price", "stock_quantity", "stock_status"),
    ),
    # WooCommerce exports image attachments and empty rows beside products: keep the products.
    Rule(
        "web", "web_products", "staged_web", "post_type must be 'product'", keep=Condition("post_type", "=", "product")
    ),
    # A product without a sku cannot be linked to the ERP.
    Rule("web", "web_with_sku", "web_products", "sku must be present", keep=Condition("sku", "is present")),
    Rule(
        "web",
        "web_clean",
        "web_with_sku",
        DUPLICATE_RULE,
        distinct_on=("sku", "post_type", "post_title", "total_sales"),
    ),
    # A liaison row without a web id links the ERP product to nothing on the web.
    Rule(
        "liaison", "liaison_linked", "staged_liaison", "id_web must be present", keep=Condition("id_web", "is present")
    ),
    Rule("liaison", "liaison_clean", "liaison_linked", DUPLICATE_RULE, distinct_on=("product_id", "id_web")),
)


@dataclass(frozen=True)
class Link:
    """One equality of the inner join: `left.left_column = right.right_column`."""

    left: str
    left_column: str
    right: str
    right_column: str


# erp -> liaison -> web, in this order.
LINKS = (Link("erp", "product_id", "liaison", "product_id"), Link("liaison", "id_web", "web", "sku"))


@dataclass
class Reconciliation:
    products: pd.DataFrame
    rejected_rows: pd.DataFrame
    funnel: dict[str, Any]  # each source's stages ({"stage", "rows"}), then "products": the products' count
    turnover: Decimal


def written_name(title: object) -> object:
    """A wine's name as a person wrote it: the web export's HTML entities decoded, spaces trimmed.

    Spaces only (and the no-break space of `&nbsp;`): a tab or a carriage return is kept, to be
    neutralised where text could run as a formula, not hidden here.
    """
    if not isinstance(title, str):
        return title
    title = html.unescape(title)
    if "  " in title or "\xa0" in title:  # else the substitution would change nothing (0.2 s a 70,000 names)
        title = SPACES.sub(" ", title)
    return title.strip(" ")


def sql(name: str) -> str:
    return resources.files("bottleneck").joinpath("sql", f"{name}.sql").read_text()


def _literal(value: object) -> str:
    return "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value)


def condition_sql(condition: Condition) -> str:
    if condition.operator == "is present":
        return f"{condition.column} IS NOT NULL"
    return f"{condition.column} {condition.operator} {_literal(condition.value)}"


def rule_sql(rule: Rule) -> str:
    """The SELECT of a rule's view, rendered from its declaration."""
    if rule.keep is not None:
        return sql("keep_where").format(after=rule.after, condition=condition_sql(rule.keep))
    return sql("first_of_duplicates").format(after=rule.after, columns=", ".join(rule.distinct_on))


def products_sql() -> str:
    erp_to_liaison, liaison_to_web = (
        f"{link.left}.{link.left_column} = {link.right}.{link.right_column}" for link in LINKS
    )
    return sql("products").format(erp_to_liaison=erp_to_liaison, liaison_to_web=liaison_to_web)


@backoff.on_exception(backoff.expo, duckdb.IOException, max_tries=4)
def reconciled(staged: Mapping[str, pd.DataFrame | str]) -> Reconciliation:
    """The month's products, every row a rule dropped (with the rule), and the row-count funnel.

    Each staged table is a DataFrame or the path of its Parquet file, which DuckDB reads itself (a
    DataFrame's text columns are Python objects, which DuckDB converts one at a time)."""
    # A cursor of the process's database: its registrations and temporary tables are its own, and go with
    # it. Each rule's rows are a table, not a view: a chain of views would be evaluated again from the
    # staged tables by every later rule.
    connection = tables.connection().cursor()
    try:
        funnel: dict[str, Any] = {}
        for source, table in staged.items():
            if isinstance(table, str):
                rows = _only_value(
                    connection.execute(f"CREATE TEMP TABLE staged_{source} AS SELECT * FROM read_parquet(?)", [table])
                )
            else:
                connection.register(f"staged_{source}", table)
                rows = len(table)
            funnel[source] = [{"stage": "raw", "rows": rows}]
        # The rows each rule drops, gathered in one query at the end: appended rule by rule to one table,
        # each append cost more than its query (0.15 s of 0.6 s at 100 times a real month).
        dropped = []
        for step, rule in enumerate(RULES):
            rows = _only_value(connection.execute(f"CREATE TEMP TABLE {rule.view} AS {rule_sql(rule)}"))
            dropped.append(
                f"SELECT {_literal(SOURCE_FILES[rule.source])}, source_row, CAST({KEYS[rule.source]} AS "
                f"VARCHAR), {_literal(rule.name)}, {step} FROM {rule.after} ANTI JOIN {rule.view} USING (source_row)"
            )
            funnel[rule.source].append({"stage": rule.name, "rows": rows})
        connection.execute(f"CREATE TEMP TABLE products AS {products_sql()}")
        files = " ".join(f"WHEN '{source}' THEN '{file}'" for source, file in SOURCE_FILES.items())
        dropped.append(
            f"SELECT CASE source {files} END, source_row, key, {_literal(JOIN_RULE)}, {len(RULES)} "
            f"FROM ({sql('join_losses')})"
        )
        # By rule, in the order the rules apply, then by file and Excel row: the same report on a re-run.
        rejected_rows = connection.execute(
            "SELECT source_file, CAST(source_row AS BIGINT) AS source_row, key, rule FROM ("
            + " UNION ALL ".join(dropped)
            + ") AS dropped(source_file, source_row, key, rule, step) "
            "ORDER BY step, source_file, source_row"
        ).df()
        products = connection.execute("SELECT * FROM products").df()
        # Once, here: every deliverable and every comparison is made from these products.
        products["post_title"] = products["post_title"].map(written_name)
        turnover = _only_value(connection.execute(sql("turnover")))
    finally:
        connection.close()
    losses = rejected_rows.loc[rejected_rows["rule"] == JOIN_RULE, "source_file"]
    for source in funnel:
        lost = int((losses == SOURCE_FILES[source]).sum())
        funnel[source].append({"stage": "joined", "rows": funnel[source][-1]["rows"] - lost})
    funnel["products"] = len(products)
    return Reconciliation(products, rejected_rows, funnel, Decimal(turnover).quantize(Decimal("0.01")))


def _only_value(result: duckdb.DuckDBPyConnection) -> Any:
    """The one value of a statement's one row (a CREATE TABLE's row count, a sum)."""
    row = result.fetchone()
    if row is None:
        raise RuntimeError("DuckDB gave no row where the statement returns one")
    return row[0]
