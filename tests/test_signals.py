"""Wine by wine: prices far from the month before's, units far beyond a wine's own history, as warnings."""

import pandas as pd

from bottleneck import signals


def wines(prices: dict[int, float], units: dict[int, float] | None = None) -> pd.DataFrame:
    units = units or {}
    return pd.DataFrame(
        {
            "product_id": list(prices),
            "sku": [str(1000 + product_id) for product_id in prices],
            "post_title": [f"Wine {product_id}" for product_id in prices],
            "price": list(prices.values()),
            "total_sales": [units.get(product_id, 3.0) for product_id in prices],
        }
    )


def test_a_price_moved_beyond_the_factor_either_way_is_a_warning_naming_the_wine_and_both_prices():
    before = wines({1: 24.2, 2: 30.0, 3: 12.0, 4: 50.0})
    now = wines({1: 2420.0, 2: 35.0, 3: 5.9, 4: 100.0, 5: 9.0})  # 4 doubled exactly: not beyond
    [check] = signals.price_moves(now, before, "2020-07", 2.0)
    assert not check.passed
    assert check.level == "warning"
    assert check.kind == "plausibility"
    assert check.observed == 2
    assert check.detail == (
        "2 wines changed price by more than ×2 since 2020-07: Wine 1 (1) 24.20 € → 2,420.00 €; "
        "Wine 3 (3) 12.00 € → 5.90 €"
    )


def test_prices_that_moved_little_pass_and_without_a_month_before_there_is_no_check():
    [check] = signals.price_moves(wines({1: 26.0}), wines({1: 24.2}), "2020-07", 2.0)
    assert check.passed
    assert check.detail == ""
    assert signals.price_moves(wines({1: 26.0}), None, "2020-07", 2.0) == []


def test_units_far_beyond_a_wines_best_month_are_a_warning_with_a_floor_against_noise():
    history = {f"2020-0{month}": wines({1: 20.0, 2: 20.0, 3: 20.0}, {1: 4.0, 2: 1.0, 3: 10.0}) for month in (4, 5, 6)}
    now = wines({1: 20.0, 2: 20.0, 3: 20.0, 4: 20.0}, {1: 41.0, 2: 6.0, 3: 50.0, 4: 80.0})
    [check] = signals.units_jumps(now, history, 5.0)
    assert not check.passed
    assert check.level == "warning"
    assert check.detail == (
        "1 wine sold more than ×5 its best month of the 3 before: Wine 1 (1) 41 units, at most 4 before"
    )  # wine 2 went from 1 to 6 (noise), wine 3 sold 5 times its best exactly, wine 4 has no history


def test_a_wine_listed_in_fewer_than_three_of_the_months_has_no_history_to_jump_from():
    history = {"2020-05": wines({1: 20.0}, {1: 1.0}), "2020-06": wines({1: 20.0}, {1: 1.0})}
    [check] = signals.units_jumps(wines({1: 20.0}, {1: 60.0}), history, 5.0)
    assert check.passed
    assert signals.units_jumps(wines({1: 20.0}), {}, 5.0) == []
