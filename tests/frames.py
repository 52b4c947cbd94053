"""Tiny tables for unit tests: staged exports typed by the project's own Pandera models, classified wines."""

import pandas as pd

from bottleneck.classify import classified_wines
from bottleneck.schemas import StagedErp, StagedLiaison, StagedWeb


def _rows(model, columns, rows, **constants):
    table = pd.DataFrame(rows, columns=columns).assign(**constants)
    table.insert(0, "source_row", range(2, len(table) + 2))
    return model.validate(table)[list(model.to_schema().columns)]


def erp(*rows):
    """(product_id, price) or (product_id, price, stock_quantity)."""
    rows = [((*row, 5))[:3] for row in rows]
    return _rows(StagedErp, ["product_id", "price", "stock_quantity"], rows, onsale_web=1, stock_status="instock")


def web(*rows):
    """(sku, total_sales, post_type, post_title); post_type and title optional."""
    rows = [((*row, "product", f"Wine {row[0]}"))[:4] for row in rows]
    return _rows(StagedWeb, ["sku", "total_sales", "post_type", "post_title"], rows)


def liaison(*rows):
    """(product_id, id_web)."""
    return _rows(StagedLiaison, ["product_id", "id_web"], rows)


HOSTILE_TITLES = ['=HYPERLINK("http://x")', "+SUM(A1)", "-2+3", "@cmd", "\tTab", "\rReturn"]


def wines(titles=("Château Simone 2016", "Mas Amiel 2015", "Domaine Huet 2018")):
    prices = [24.2, 34.3, 300.0][: len(titles)]
    products = pd.DataFrame(
        {
            "product_id": range(1, len(titles) + 1),
            "sku": [str(100 + n) for n in range(len(titles))],
            "post_title": list(titles),
            "price": prices,
            "total_sales": [3.0] * len(titles),
            "revenue": [price * 3 for price in prices],
            "stock_quantity": [5] * len(titles),
            "stock_status": ["instock"] * len(titles),
            "onsale_web": [1] * len(titles),
        }
    )
    return classified_wines(products, premium_zscore=1.0)


REJECTED = pd.DataFrame(
    {
        "source_file": ["erp.xlsx", "web.xlsx"],
        "source_row": [3, 4],
        "key": ["5017", "=1+1"],
        "rule": ["price must be above 0", "duplicate row"],
    }
)
