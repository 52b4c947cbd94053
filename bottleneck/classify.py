"""Premium or ordinary: a wine's price z-score against the month's other wines."""

import numpy as np
import pandas as pd

PREMIUM = "premium"
ORDINARY = "ordinary"


def _cents(prices: pd.Series) -> pd.Series:
    # Prices are whole cents (schemas.StagedErp): as integers, equal prices have a deviation of
    # exactly 0, where in euros float noise (about 1e-15) would make z-scores of +-0.8 out of nothing.
    return (prices.astype("float64") * 100).round()


def _spread(cents: pd.Series) -> float | None:
    """The sample standard deviation, or None where fewer than two prices or all equal."""
    if len(cents) < 2 or cents.nunique() < 2:
        return None
    return float(cents.std(ddof=1))


def price_zscores(prices: pd.Series) -> pd.Series:
    """(price - mean) / sample standard deviation; NaN where fewer than two prices or all equal."""
    cents = _cents(prices)
    spread = _spread(cents)
    if spread is None:
        return pd.Series(np.nan, index=prices.index, dtype="float64")
    return (cents - cents.mean()) / spread


def classified_wines(products: pd.DataFrame, premium_zscore: float) -> pd.DataFrame:
    """The products with `price_zscore` and `category`, premium where the z-score is above the threshold."""
    wines = products.copy()
    wines["price_zscore"] = price_zscores(wines["price"])
    wines["category"] = np.where(wines["price_zscore"] > premium_zscore, PREMIUM, ORDINARY)
    return wines


def premium_price_floor(prices: pd.Series, premium_zscore: float) -> float | None:
    """The price above which a wine is premium this month (for the report's chart)."""
    cents = _cents(prices)
    spread = _spread(cents)
    if spread is None:
        return None
    return float(cents.mean() + premium_zscore * spread) / 100
