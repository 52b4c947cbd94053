"""The premium rule: price z-score with the sample standard deviation, above a threshold."""

import math

import pandas as pd
import pytest

from bottleneck.classify import classified_wines, premium_price_floor, price_zscores


def test_zscore_uses_the_sample_standard_deviation():
    prices = pd.Series([10.0, 20.0, 30.0])
    assert price_zscores(prices).tolist() == pytest.approx([-1.0, 0.0, 1.0])  # std(ddof=1) = 10


def test_premium_is_strictly_above_the_threshold():
    prices = [10.0] * 20 + [100.0]
    wines = classified_wines(pd.DataFrame({"price": prices}), premium_zscore=2.0)
    assert wines["category"].tolist() == ["ordinary"] * 20 + ["premium"]
    top = wines["price_zscore"].iloc[-1]
    at_threshold = classified_wines(pd.DataFrame({"price": prices}), premium_zscore=top)
    assert (at_threshold["category"] == "ordinary").all()


@pytest.mark.parametrize("prices", [[], [42.0], [9.9, 9.9, 9.9]], ids=["none", "one", "all-equal"])
def test_without_spread_every_wine_is_ordinary(prices):
    wines = classified_wines(pd.DataFrame({"price": prices}, dtype="float64"), premium_zscore=2.0)
    assert (wines["category"] == "ordinary").all()
    assert wines["price_zscore"].isna().all()
    assert premium_price_floor(pd.Series(prices, dtype="float64"), 2.0) is None


@pytest.mark.parametrize("prices", [[24.9] * 3, [5.7] * 7], ids=["24.9x3", "5.7x7"])
def test_equal_prices_with_float_noise_have_no_z_score_and_no_premium(prices):
    # In euros the sample deviation of these is about 1e-15, not 0, and every z-score came out +-0.8 or more.
    assert pd.Series(prices).std(ddof=1) != 0
    wines = classified_wines(pd.DataFrame({"price": prices}), premium_zscore=0.5)
    assert wines["price_zscore"].isna().all()
    assert (wines["category"] == "ordinary").all()
    assert premium_price_floor(pd.Series(prices), 0.5) is None


def test_z_scores_do_not_depend_on_float_noise_in_the_prices():
    noisy = pd.Series([0.1 + 0.2, 0.3, 0.6])
    assert price_zscores(noisy).tolist() == price_zscores(pd.Series([0.3, 0.3, 0.6])).tolist()


def test_price_floor_is_mean_plus_threshold_deviations():
    assert math.isclose(premium_price_floor(pd.Series([10.0, 20.0, 30.0]), 2.0), 40.0)
