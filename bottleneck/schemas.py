"""The typed tables of the pipeline, declared once as Pandera models and reused by the tests."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

# Vocabularies: the closed lists of values a column of the exports takes, declared once and used by the
# models below. A value outside its list refuses the month (exit 6), named with its file, column and Excel
# row, rather than being read as something else; staging first folds case and surrounding spaces onto the
# spelling declared here (machine slugs, where a capital or a trailing space can only be a hand edit).
POST_TYPES = ("product", "attachment")  # the posts of web.xlsx: wines, and their images
STOCK_STATUSES = ("instock", "outofstock", "onbackorder")  # WooCommerce's three, which the ERP mirrors
ONSALE_WEB = (0, 1)
VOCABULARIES: dict[str, dict[str, tuple[str | int, ...]]] = {
    "erp": {"onsale_web": ONSALE_WEB, "stock_status": STOCK_STATUSES},
    "web": {"post_type": POST_TYPES},
}


def _whole_cents(prices: pd.Series) -> pd.Series:
    cents = prices * 100
    return (cents - cents.round()).abs() < 1e-6


class StagedErp(pa.DataFrameModel):
    """erp.xlsx: one row a product of the ERP, as exported."""

    source_row: Series[int]
    product_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    onsale_web: Series[pd.Int64Dtype] = pa.Field(isin=ONSALE_WEB, nullable=False)
    price: Series[float] = pa.Field(nullable=False)
    stock_quantity: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    stock_status: Series[str] = pa.Field(isin=STOCK_STATUSES, nullable=True)

    @pa.check("price", name="price in whole cents")
    @classmethod
    def price_in_whole_cents(cls, price: Series[float]) -> pd.Series:
        return _whole_cents(price)

    class Config:
        coerce = True
        strict = "filter"


class StagedWeb(pa.DataFrameModel):
    """web.xlsx: the WooCommerce export, products and attachments alike."""

    source_row: Series[int]
    sku: Series[str] = pa.Field(nullable=True)
    post_type: Series[str] = pa.Field(isin=POST_TYPES, nullable=True)
    post_title: Series[str] = pa.Field(nullable=True)
    total_sales: Series[float] = pa.Field(ge=0, nullable=True)

    @pa.check("total_sales", name="total_sales a whole number")
    @classmethod
    def whole_sales(cls, total_sales: Series[float]) -> pd.Series:
        return total_sales.isna() | (total_sales == total_sales.round())

    class Config:
        coerce = True
        strict = "filter"


class StagedLiaison(pa.DataFrameModel):
    """liaison.xlsx: the ERP product_id of each web sku (id_web)."""

    source_row: Series[int]
    product_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    id_web: Series[str] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = "filter"


class ClassifiedWine(pa.DataFrameModel):
    """One reconciled product of the month, with its revenue and its class."""

    product_id: Series[pd.Int64Dtype] = pa.Field(unique=True, nullable=False)
    sku: Series[str] = pa.Field(nullable=False)
    post_title: Series[str] = pa.Field(nullable=True)
    price: Series[float] = pa.Field(gt=0, nullable=False)
    total_sales: Series[float] = pa.Field(ge=0, nullable=False)
    revenue: Series[float] = pa.Field(ge=0, nullable=False)
    price_zscore: Series[float] = pa.Field(nullable=True)
    category: Series[str] = pa.Field(isin=["premium", "ordinary"], nullable=False)

    @pa.dataframe_check(name="revenue = price x total_sales, to the cent")
    @classmethod
    def revenue_is_price_times_sales(cls, wines: pd.DataFrame) -> pd.Series:
        return ((wines["price"] * wines["total_sales"]).round(2) - wines["revenue"]).abs() < 0.005

    class Config:
        coerce = True


STAGED = {"erp": StagedErp, "web": StagedWeb, "liaison": StagedLiaison}
