"""Cleans, deduplicates and joins the three staged exports with the DuckDB SQL of sql/."""
import html
import re
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

import backoff
import duckdb
import pandas as pd

SOURCE_FILES = {"erp": "erp.xlsx", "web": "web.xlsx", "liaison": "liaison.xlsx"}
KEYS = {"erp": "product_id", "web": "sku", "liaison": "product_id"}
CLEAN_VIEWS = {"erp": "erp_clean", "web": "web_clean", "liaison": "liaison_clean"}
JOIN_RULE = "no match in the inner join of erp, liaison and web"


@dataclass(frozen=True)
class Rule:
    """A cleaning rule: the view of `sql/<view>.sql` keeps the rows of `after` that pass it."""

    source: str
    view: str
    after: str
    name: str


RULES = (
    Rule("erp", "erp_priced", "staged_erp", "price must be above 0"),
    Rule("erp", "erp_clean", "erp_priced", "duplicate row"),
    Rule("web", "web_products", "staged_web", "post_type must be 'product'"),
    Rule("web", "web_with_sku", "web_products", "sku must be present"),
    Rule("web", "web_clean", "web_with_sku", "duplicate row"),
    Rule("liaison", "liaison_linked", "staged_liaison", "id_web must be present"),
    Rule("liaison", "liaison_clean", "liaison_linked", "duplicate row"),
)


@dataclass
class Reconciliation:
    products: pd.DataFrame
    rejected_rows: pd.DataFrame
    funnel: dict
    turnover: Decimal


def written_name(title):
    """A wine's name as a person wrote it: the web export's HTML entities decoded, spaces trimmed.

    Spaces only (and the no-break space of `&nbsp;`): a tab or a carriage return is kept, to be
    neutralised where text could run as a formula, not hidden here.
    """
    return title if not isinstance(title, str) else re.sub(r"[ \xa0]+", " ", html.unescape(title)).strip(" ")


def sql(name: str) -> str:
    return resources.files("bottleneck").joinpath("sql", f"{name}.sql").read_text()


@backoff.on_exception(backoff.expo, duckdb.IOException, max_tries=4)
def reconciled(staged: dict[str, pd.DataFrame]) -> Reconciliation:
    """The month's products, every row a rule dropped (with the rule), and the row-count funnel."""
    connection = duckdb.connect()
    try:
        for source, table in staged.items():
            connection.register(f"staged_{source}", table)
        funnel = {source: [{"stage": "raw", "rows": len(table)}] for source, table in staged.items()}
        rejected = []
        for rule in RULES:
            connection.execute(f"CREATE VIEW {rule.view} AS {sql(rule.view)}")
            rejected.append(connection.execute(
                f"SELECT ? AS source_file, source_row, CAST({KEYS[rule.source]} AS VARCHAR) AS key, ? AS rule "
                f"FROM {rule.after} ANTI JOIN {rule.view} USING (source_row) ORDER BY source_row",
                [SOURCE_FILES[rule.source], rule.name],
            ).df())
            rows = connection.execute(f"SELECT count(*) FROM {rule.view}").fetchone()[0]
            funnel[rule.source].append({"stage": rule.name, "rows": rows})
        connection.execute(f"CREATE TABLE products AS {sql('products')}")
        losses = connection.execute(sql("join_losses")).df()
        losses = pd.DataFrame({
            "source_file": losses["source"].map(SOURCE_FILES), "source_row": losses["source_row"],
            "key": losses["key"], "rule": JOIN_RULE,
        })
        products = connection.execute("SELECT * FROM products").df()
        # Once, here: every deliverable and every comparison is made from these products.
        products["post_title"] = products["post_title"].map(written_name)
        turnover = connection.execute(sql("turnover")).fetchone()[0]
    finally:
        connection.close()
    for source in funnel:
        lost = int((losses["source_file"] == SOURCE_FILES[source]).sum())
        funnel[source].append({"stage": "joined", "rows": funnel[source][-1]["rows"] - lost})
    funnel["products"] = len(products)
    rejected_rows = pd.concat([*rejected, losses], ignore_index=True)
    rejected_rows["source_row"] = rejected_rows["source_row"].astype("int64")
    return Reconciliation(products, rejected_rows, funnel, Decimal(turnover).quantize(Decimal("0.01")))
