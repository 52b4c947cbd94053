"""Premium or ordinary: a wine's price z-score against the month's other wines."""
import numpy as np
import pandas as pd

PREMIUM = "premium"
ORDINARY = "ordinary"


def price_zscores(prices: pd.Series) -> pd.Series:
    """(price - mean) / sample standard deviation; NaN where fewer than two prices or all equal."""
    spread = prices.std(ddof=1)
    if len(prices) < 2 or not np.isfinite(spread) or spread == 0:
        return pd.Series(np.nan, index=prices.index, dtype="float64")
    return (prices - prices.mean()) / spread


def classified_wines(products: pd.DataFrame, premium_zscore: float) -> pd.DataFrame:
    """The products with `price_zscore` and `category`, premium where the z-score is above the threshold."""
    wines = products.copy()
    wines["price_zscore"] = price_zscores(wines["price"].astype("float64"))
    wines["category"] = np.where(wines["price_zscore"] > premium_zscore, PREMIUM, ORDINARY)
    return wines


def premium_price_floor(prices: pd.Series, premium_zscore: float) -> float | None:
    """The price above which a wine is premium this month (for the report's chart)."""
    spread = prices.std(ddof=1)
    if len(prices) < 2 or not np.isfinite(spread) or spread == 0:
        return None
    return float(prices.mean() + premium_zscore * spread)
