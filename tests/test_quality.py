"""Every check of the quality gate, passing and failing, on tiny tables."""

import json
from decimal import Decimal

import pandas as pd
import pytest

from bottleneck import quality
from bottleneck.classify import classified_wines, price_zscores
from bottleneck.reconcile import reconciled
from bottleneck.reference import exact_turnover as reference_turnover
from bottleneck.reference import reference
from tests import frames

TURNOVER = "turnover equals the rules run apart (pandas, Decimal)"
ACCOUNTED = "every row accounted for: raw = kept + rejected, per source"
SAME_AS_REFERENCE = "products and rejected rows equal the rules run apart (pandas)"
SKU_TO_ONE_PRODUCT = "links one-to-one: a web sku (id_web) linked to one product_id in liaison.xlsx"
PRODUCT_TO_ONE_SKU = "links one-to-one: a product_id linked to one web sku (id_web) in liaison.xlsx"
PREMIUM = "premium wines equal the z-score above 2 computed apart (Decimal)"


def clean_month():
    return {
        "erp": frames.erp((1, 10.0), (2, 150.0), (3, -1.0, -4)),
        "web": frames.web(("101", 3), ("102", 2), ("101", None, "attachment", None)),
        "liaison": frames.liaison((1, "101"), (2, "102"), (3, None)),
    }


def run_gate(staged, **changes):
    result = reconciled(staged)
    wines = changes.get("wines", classified_wines(result.products, 2.0))
    rejected_rows = changes.get("rejected_rows", result.rejected_rows)
    turnover = changes.get("turnover", result.turnover)
    checks = quality.gate(staged, wines, rejected_rows, turnover, reference(staged), 2.0)
    return {check.name: check for check in checks}


def failed(checks):
    return {check.name for check in quality.failures(list(checks.values()))}


def test_a_clean_month_passes_every_error_level_check():
    checks = run_gate(clean_month())
    assert failed(checks) == set()
    assert checks[TURNOVER].observed == "330.00"
    assert checks[TURNOVER].expected == "330.00"
    assert checks[ACCOUNTED].observed == {
        "erp": {"raw": 3, "kept": 2, "rejected": 1},
        "web": {"raw": 3, "kept": 2, "rejected": 1},
        "liaison": {"raw": 3, "kept": 2, "rejected": 1},
    }


def test_every_check_is_recorded_with_its_values_and_none_is_always_passed():
    checks = run_gate(clean_month())
    assert all(check.level in (quality.ERROR, quality.WARNING) for check in checks.values())
    assert "row-count funnel per source" not in checks
    assert "premium + ordinary = products" not in checks


def test_negative_stock_is_a_warning_not_a_failure():
    check = run_gate(clean_month())["no negative stock in erp.xlsx"]
    assert check.record()["status"] == "warning"
    assert check.observed == 1
    assert "3" in check.detail


def test_turnover_that_does_not_match_the_independent_computation_fails():
    check = run_gate(clean_month(), turnover=Decimal("330.01"))[TURNOVER]
    assert not check.passed
    assert check.expected == "330.00"
    assert check.detail == "off by 0.01"


def test_the_reference_engine_applies_the_declared_rules_by_itself():
    month = clean_month()
    month["erp"] = frames.erp((1, 10.0), (2, 150.0), (3, -1.0, -4), (2, 150.0))
    month["web"] = frames.web(("101", 3), ("102", 2), ("101", None, "attachment", None), (None, 5), ("102", 2))
    result = reference(month)
    assert result.turnover == Decimal("330.00")
    assert sorted(result.products[["erp_row", "liaison_row", "web_row"]].values.tolist()) == [[2, 2, 2], [3, 3, 3]]
    assert set(map(tuple, result.rejected.values.tolist())) == {
        ("erp.xlsx", 4, "price must be above 0"),
        ("erp.xlsx", 5, "duplicate row"),
        ("web.xlsx", 4, "post_type must be 'product'"),
        ("web.xlsx", 5, "sku must be present"),
        ("web.xlsx", 6, "duplicate row"),
        ("liaison.xlsx", 4, "id_web must be present"),
    }


def test_a_sku_linked_to_two_products_fails_naming_both_liaison_rows():
    staged = clean_month()
    staged["erp"] = frames.erp((1, 10.0), (2, 150.0), (3, -1.0, -4), (4, 20.0))
    staged["liaison"] = frames.liaison((1, "101"), (2, "102"), (3, None), (4, "101"))
    check = run_gate(staged)[SKU_TO_ONE_PRODUCT]
    assert not check.passed
    assert "id_web 101: liaison.xlsx row 2 product_id=1; row 5 product_id=4" in check.detail


def test_a_product_linked_to_two_skus_fails_naming_both_liaison_rows():
    staged = clean_month()
    staged["web"] = frames.web(("101", 3), ("102", 2), ("103", 1))
    staged["liaison"] = frames.liaison((1, "101"), (2, "102"), (1, "103"))
    checks = run_gate(staged)
    assert "product_id 1: liaison.xlsx row 2 id_web=101; row 4 id_web=103" in checks[PRODUCT_TO_ONE_SKU].detail
    assert checks[SKU_TO_ONE_PRODUCT].passed


def test_conflicting_prices_fail_the_gate_naming_both_rows():
    staged = clean_month()
    staged["erp"] = frames.erp((1, 10.0), (2, 150.0), (1, 12.0))
    check = run_gate(staged)["one price a product_id in erp.xlsx"]
    assert not check.passed
    assert "product_id 1: erp.xlsx row 2 price=10.0; row 4 price=12.0" in check.detail


def test_rows_of_one_sku_that_differ_elsewhere_than_in_sales_name_what_differs():
    staged = clean_month()
    staged["web"] = frames.web(("101", 3, "product", "Mas Amiel 2015"), ("102", 2), ("101", 3, "product", "Mas Amiel"))
    check = run_gate(staged)["one total_sales a sku in web.xlsx"]
    assert not check.passed
    assert (
        "sku 101: web.xlsx row 2 post_title='Mas Amiel 2015'; row 4 post_title='Mas Amiel' (the same total_sales, 3.0)"
        in check.detail
    )


def test_conflicting_sales_figures_fail_the_gate_naming_both_rows():
    staged = clean_month()
    staged["web"] = frames.web(("101", 3), ("102", 2), ("101", 5))
    checks = run_gate(staged)
    assert (
        "sku 101: web.xlsx row 2 total_sales=3.0; row 4 total_sales=5.0"
        in checks["one total_sales a sku in web.xlsx"].detail
    )
    assert not checks["product_id unique"].passed


def test_an_empty_total_sales_on_a_product_is_named_never_summed_as_zero():
    staged = clean_month()
    staged["web"] = frames.web(("101", 3), ("102", None))
    checks = run_gate(staged)
    check = checks["every product has a price and a total_sales"]
    assert not check.passed
    assert check.detail == "empty: web.xlsx row 3 column total_sales (product_id 2)"
    assert checks[TURNOVER].passed  # both engines leave the unknown out; the check above names it


def test_a_month_without_products_fails():
    staged = {"erp": frames.erp(), "web": frames.web(), "liaison": frames.liaison()}
    checks = run_gate(staged)
    assert failed(checks) == {"the month has products"}
    assert checks["the month has products"].observed == 0


def test_a_clean_web_product_lost_in_the_join_fails():
    staged = clean_month()
    staged["web"] = frames.web(("101", 3), ("102", 2), ("103", 7))
    check = run_gate(staged)["no clean web product lost in the join"]
    assert not check.passed
    assert "103" in check.detail


def test_a_row_dropped_without_a_rejected_row_fails_the_accounting():
    staged = clean_month()
    rejected_rows = reconciled(staged).rejected_rows
    checks = run_gate(staged, rejected_rows=rejected_rows[rejected_rows["source_file"] != "web.xlsx"])
    assert not checks[ACCOUNTED].passed
    assert checks[ACCOUNTED].detail == "web.xlsx: 3 raw != 2 kept + 0 rejected; rows neither kept nor rejected: 4"
    assert (
        "web.xlsx row 4 rejected by 'post_type must be 'product'' only in the reference"
        in checks[SAME_AS_REFERENCE].detail
    )


def test_a_row_both_kept_and_rejected_fails_the_accounting():
    staged = clean_month()
    rejected_rows = reconciled(staged).rejected_rows
    twice = pd.DataFrame([{"source_file": "erp.xlsx", "source_row": 2, "key": "1", "rule": "duplicate row"}])
    checks = run_gate(staged, rejected_rows=pd.concat([rejected_rows, twice], ignore_index=True))
    assert checks[ACCOUNTED].detail == "erp.xlsx: 3 raw != 2 kept + 2 rejected; rows counted twice: 2"


def test_a_product_the_rules_do_not_give_fails():
    staged = clean_month()
    wines = classified_wines(reconciled(staged).products, 2.0)
    ghost = wines.iloc[[0]].assign(product_id=99, erp_row=4, liaison_row=4, web_row=4)
    checks = run_gate(staged, wines=pd.concat([wines, ghost], ignore_index=True))
    assert "product from rows (4, 4, 4) only in the SQL" in checks[SAME_AS_REFERENCE].detail
    assert "rows counted twice: 4" in checks[ACCOUNTED].detail


def test_duplicated_product_ids_fail():
    staged = clean_month()
    wines = classified_wines(reconciled(staged).products, 2.0)
    checks = run_gate(staged, wines=pd.concat([wines, wines.iloc[[0]]], ignore_index=True))
    assert not checks["product_id unique"].passed
    assert checks["product_id unique"].detail == "product_id repeated: 1"
    assert not checks[SAME_AS_REFERENCE].passed


def test_a_wine_classed_otherwise_than_the_decimal_z_score_fails():
    staged = {
        "erp": frames.erp(*[(n, 10.0) for n in range(1, 21)], (21, 100.0)),
        "web": frames.web(*[(str(100 + n), 1) for n in range(1, 22)]),
        "liaison": frames.liaison(*[(n, str(100 + n)) for n in range(1, 22)]),
    }
    wines = classified_wines(reconciled(staged).products, 2.0)
    assert run_gate(staged, wines=wines)[PREMIUM].passed
    assert run_gate(staged, wines=wines)[PREMIUM].observed == 1
    check = run_gate(staged, wines=wines.assign(category="ordinary"))[PREMIUM]
    assert not check.passed
    assert check.detail == "product_id classed otherwise: 21"


@pytest.mark.parametrize("prices", [[24.9] * 3, [5.7] * 7, [0.1 + 0.2, 0.3]], ids=["24.9x3", "5.7x7", "0.1+0.2"])
def test_equal_prices_make_no_premium_in_decimal(prices):
    assert not quality.premium_by_decimal(pd.Series(prices), 0.5).any()


def test_output_that_breaks_its_schema_fails():
    staged = clean_month()
    wines = classified_wines(reconciled(staged).products, 2.0)
    check = run_gate(staged, wines=wines.assign(category="grand cru"))["products match the ClassifiedWine schema"]
    assert not check.passed
    assert "category" in check.detail


def test_the_record_carries_the_month_figures_the_funnel_and_every_check():
    staged = clean_month()
    result = reconciled(staged)
    wines = classified_wines(result.products, 2.0)
    checks = quality.gate(staged, wines, result.rejected_rows, result.turnover, reference(staged), 2.0)
    record = quality.quality_record("2020-08", wines, result.turnover, checks, {"erp": {}}, result.funnel)
    assert {key: record[key] for key in ("month", "products", "premium", "ordinary", "turnover", "passed")} == {
        "month": "2020-08",
        "products": 2,
        "premium": 0,
        "ordinary": 2,
        "turnover": 330.0,
        "passed": True,
    }
    assert {"name", "level", "status", "observed", "expected", "detail", "key", "kind", "context", "accepted"} == set(
        record["checks"][0]
    )
    assert record["funnel"]["erp"][0] == {"stage": "raw", "rows": 3}
    json.dumps(record)


def test_a_failed_gate_record_says_so_and_its_table_reads_as_a_table():
    staged = clean_month()
    staged["web"] = frames.web(("101", 3), ("102", None))
    checks = list(run_gate(staged).values())
    record = quality.gate_record("2020-08", checks)
    assert record["passed"] is False
    assert set(record) == {"month", "passed", "checks"}
    table = quality.check_table(record["checks"]).splitlines()
    assert table[0].split() == ["status", "observed", "expected", "check"]
    assert set(table[1]) == {"-", " "}
    assert len(table) > len(checks) + 2
    row = next(line for line in table if "every product has a price" in line)
    assert row.split()[:2] == ["failed", "1"]
    text = "\n".join(table)
    assert "- every product has a price and a total_sales: empty: web.xlsx row 3 column total_sales" in text
    assert max(len(line) for line in table[: len(checks) + 2]) < 150
    # In words and whole: never JSON, never a value cut short.
    assert (
        "- every row accounted for: raw = kept + rejected, per source: observed erp: raw 3, kept 2, rejected 1; "
        "web: raw 2, kept 2, rejected 0; liaison: raw 3, kept 2, rejected 1; expected raw = kept + rejected"
    ) in text
    assert "{" not in text
    assert "..." not in text


def test_the_reference_turnover_is_exact_where_a_float_sum_is_not():
    products = pd.DataFrame(
        {"price": [346307801.14, 663550588.52, 137866509.26], "total_sales": [123646.0, 683244.0, 511554.0]}
    )
    float_sum = Decimal(sum(products["price"] * products["total_sales"])).quantize(Decimal("0.01"))
    assert float_sum == Decimal("566712696960505.38")
    assert reference_turnover(products) == Decimal("566712696960505.36")


def test_the_decimal_premium_check_uses_the_sample_deviation_and_a_strict_threshold():
    prices = pd.Series([10.0] * 20 + [100.0])
    top = float(price_zscores(prices).iloc[-1])  # the population deviation would give 2.5% more
    assert quality.premium_by_decimal(prices, top - 1e-9).tolist() == [False] * 20 + [True]
    assert not quality.premium_by_decimal(prices, top + 1e-9).any()
    assert not quality.premium_by_decimal(pd.Series([1.0, 2.0, 3.0]), 1.0).any()  # z of 3.00 is exactly 1


def test_rows_lost_in_the_join_are_judged_on_the_month_alone_against_two_bounds():
    checks = quality.join_loss_limits({"erp": (109, 823), "liaison": (388, 734), "web": (30, 100)}, 25, 40)
    erp, liaison, web = checks
    assert erp.passed
    assert erp.level == quality.ERROR  # it could hold the month
    assert erp.detail == "109 of the 823 clean erp.xlsx rows (13.2 %) found no match in the join: normal, at most 25 %"
    assert liaison.record()["status"] == "failed"
    assert liaison.detail.endswith("(52.9 %) found no match in the join: held, above 40 %")
    assert liaison.kind == quality.PLAUSIBILITY
    assert web.record()["status"] == "warning"
    assert web.detail.endswith("unusual, above 25 %")
    assert [check.key for check in checks] == ["erp-join-loss-limit", "liaison-join-loss-limit", "web-join-loss-limit"]


def test_a_source_without_rows_loses_none():
    [check] = quality.join_loss_limits({"liaison": (0, 0)}, 25, 40)
    assert check.passed
    assert check.observed == "0.0 %"
