"""Tiny staged tables for unit tests, typed by the project's own Pandera models."""

import pandas as pd

from bottleneck.schemas import StagedErp, StagedLiaison, StagedWeb


def _rows(model, columns, rows, **constants):
    table = pd.DataFrame(rows, columns=columns).assign(**constants)
    table.insert(0, "source_row", range(2, len(table) + 2))
    return model.validate(table)[list(model.to_schema().columns)]


def erp(*rows):
    """(product_id, price) or (product_id, price, stock_quantity)."""
    rows = [(row + (5,))[:3] for row in rows]
    return _rows(StagedErp, ["product_id", "price", "stock_quantity"], rows, onsale_web=1, stock_status="instock")


def web(*rows):
    """(sku, total_sales, post_type, post_title); post_type and title optional."""
    rows = [(row + ("product", f"Wine {row[0]}"))[:4] for row in rows]
    return _rows(StagedWeb, ["sku", "total_sales", "post_type", "post_title"], rows)


def liaison(*rows):
    """(product_id, id_web)."""
    return _rows(StagedLiaison, ["product_id", "id_web"], rows)
