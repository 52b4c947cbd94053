"""Month over month on tiny tables: figures, headline deltas, each kind of change, the year's months."""

import pandas as pd
import pytest

from bottleneck.compare import changes, comparison, headline, month_figures


def wines(*rows):
    """(product_id, price, total_sales, category) -> classified wines as ClassifiedWines writes them."""
    table = pd.DataFrame(rows, columns=["product_id", "price", "total_sales", "category"])
    return table.assign(
        sku=table["product_id"].map(lambda n: f"s{n}"),
        post_title=table["product_id"].map(lambda n: f"Wine {n}"),
        revenue=table["price"] * table["total_sales"],
    )


BEFORE = wines((1, 10.0, 3, "ordinary"), (2, 20.0, 1, "ordinary"), (3, 99.0, 0, "premium"), (4, 5.5, 2, "ordinary"))
AFTER = wines((1, 10.0, 3, "ordinary"), (2, 25.0, 1, "premium"), (3, 99.0, 4, "ordinary"), (5, 7.0, 1, "ordinary"))


def test_month_figures_count_classes_units_and_exact_turnover():
    figures = month_figures("2020-08", wines((1, 0.1, 1, "premium"), (2, 0.2, 1, "ordinary"), (3, 24.2, 3, "ordinary")))
    assert figures == {"month": "2020-08", "products": 3, "premium": 1, "ordinary": 2, "units": 5, "turnover": 72.9}


def test_headline_gives_previous_change_and_percent_or_none_without_a_previous_month():
    rows = {row["figure"]: row for row in headline(month_figures("m", AFTER), month_figures("p", BEFORE))}
    assert rows["products"] == {
        "figure": "products",
        "label": "Products",
        "current": 4,
        "previous": 4,
        "change": 0,
        "change_pct": 0.0,
    }
    assert rows["turnover"]["change"] == pytest.approx(458.0 - 61.0)
    assert rows["turnover"]["previous"] == 61.0
    assert rows["turnover"]["change_pct"] == pytest.approx((458 - 61) / 61 * 100)
    assert rows["units"]["change"] == 3
    no_premium = month_figures("p", BEFORE.assign(category="ordinary"))
    assert {row["figure"]: row for row in headline(month_figures("m", AFTER), no_premium)}["premium"][
        "change_pct"
    ] is None
    assert all(row["previous"] is None and row["change"] is None for row in headline(month_figures("m", AFTER), None))


def test_each_change_is_one_row_by_kind_then_product():
    table = changes(AFTER, BEFORE)
    assert list(table.columns) == ["change", "product_id", "sku", "wine", "before", "after"]
    assert table.values.tolist() == [
        ["new", 5, "s5", "Wine 5", "", 7.0],
        ["gone", 4, "s4", "Wine 4", 5.5, ""],
        ["price", 2, "s2", "Wine 2", 20.0, 25.0],
        ["premium", 2, "s2", "Wine 2", "ordinary", "premium"],
        ["ordinary", 3, "s3", "Wine 3", "premium", "ordinary"],
        ["revenue", 3, "s3", "Wine 3", 0.0, 396.0],
        ["revenue", 2, "s2", "Wine 2", 20.0, 25.0],
    ]


def test_movers_are_the_largest_revenue_moves_first_and_at_most_n():
    before = wines(*[(n, 10.0, n, "ordinary") for n in range(1, 8)])
    after = wines(*[(n, 10.0, n + (n % 3), "ordinary") for n in range(1, 8)])
    movers = changes(after, before, movers=3)
    assert movers["product_id"].tolist() == [2, 5, 1]  # +20, +20, +10: ties by product_id, no unmoved wine
    assert movers["change"].unique().tolist() == ["revenue"]


def test_a_price_equal_to_the_cent_is_no_change_and_identical_months_have_none():
    assert changes(BEFORE.assign(price=BEFORE["price"] + 1e-9), BEFORE).empty
    assert changes(AFTER, AFTER).empty


def test_without_a_previous_month_there_are_no_changes():
    assert changes(AFTER, None).empty
    assert changes(AFTER, None).columns[0] == "change"


def test_comparison_records_the_previous_month_or_null_and_the_reason_and_gaps_in_the_year():
    current, previous = month_figures("2020-08", AFTER), month_figures("2020-07", BEFORE)
    gap = {"month": "2020-06", "figures": None, "reason": "2020-06: no raw exports in the lake"}
    record = comparison(current, [gap, {"month": "2020-07", "figures": previous, "reason": None}])
    assert record["previous_month"] == previous
    assert record["no_comparison"] is None
    assert record["history"] == [{"month": "2020-06", "gap": "2020-06: no raw exports in the lake"}, previous, current]
    failed = {"month": "2020-07", "figures": None, "reason": "2020-07: quality gate failed: product_id unique"}
    record = comparison(current, [gap, failed])
    assert record["previous_month"] is None
    assert record["no_comparison"] == "2020-07: quality gate failed: product_id unique"
    assert comparison(current, [])["no_comparison"] == "no month before this one"
