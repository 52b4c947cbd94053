"""Every check of the quality gate, passing and failing, on tiny tables."""
from decimal import Decimal

import pandas as pd

from bottleneck import quality
from bottleneck.classify import classified_wines
from bottleneck.reconcile import reconciled
from tests import frames


def clean_month():
    return {
        "erp": frames.erp((1, 10.0), (2, 150.0), (3, -1.0, -4)),
        "web": frames.web(("101", 3), ("102", 2), ("101", None, "attachment", None)),
        "liaison": frames.liaison((1, "101"), (2, "102"), (3, None)),
    }


def run_gate(staged, **changes):
    result = reconciled(staged)
    wines = changes.get("wines", classified_wines(result.products, 2.0))
    turnover = changes.get("turnover", result.turnover)
    return {check.name: check for check in quality.gate(staged, wines, result.rejected_rows, turnover, result.funnel)}


def test_a_clean_month_passes_every_error_level_check():
    checks = run_gate(clean_month())
    assert quality.failures(list(checks.values())) == []
    assert checks["turnover equals an independent computation from the staged inputs"].observed == "330.00"


def test_negative_stock_is_a_warning_not_a_failure():
    check = run_gate(clean_month())["no negative stock in erp.xlsx"]
    assert check.record()["status"] == "warning" and check.observed == 1 and "3" in check.detail


def test_turnover_that_does_not_match_the_independent_computation_fails():
    check = run_gate(clean_month(), turnover=Decimal("330.01"))[
        "turnover equals an independent computation from the staged inputs"]
    assert not check.passed and check.expected == "330.00" and check.detail == "off by 0.01"


def test_independent_turnover_applies_the_rules_by_itself():
    assert quality.independent_turnover(clean_month()) == Decimal("330.00")


def test_conflicting_prices_fail_the_gate_naming_both_rows():
    staged = clean_month()
    staged["erp"] = frames.erp((1, 10.0), (2, 150.0), (1, 12.0))
    check = run_gate(staged)["one price a product_id in erp.xlsx"]
    assert not check.passed
    assert "product_id 1: row 2 price=10.0; row 4 price=12.0" in check.detail


def test_conflicting_sales_figures_fail_the_gate_naming_both_rows():
    staged = clean_month()
    staged["web"] = frames.web(("101", 3), ("102", 2), ("101", 5))
    checks = run_gate(staged)
    assert "sku 101: row 2 total_sales=3.0; row 4 total_sales=5.0" in checks["one total_sales a sku in web.xlsx"].detail
    assert not checks["product_id unique"].passed


def test_a_clean_web_product_lost_in_the_join_fails():
    staged = clean_month()
    staged["web"] = frames.web(("101", 3), ("102", 2), ("103", 7))
    check = run_gate(staged)["no clean web product lost in the join"]
    assert not check.passed and "103" in check.detail


def test_products_missing_from_a_source_or_with_nulls_fail():
    staged = clean_month()
    result = reconciled(staged)
    wines = classified_wines(result.products, 2.0)
    ghost = wines.iloc[[0]].assign(product_id=99, sku=None)
    checks = run_gate(staged, wines=pd.concat([wines, ghost], ignore_index=True))
    assert not checks["every product present in erp, liaison and web"].passed
    assert checks["no nulls in product_id, sku, price, total_sales"].observed["sku"] == 1
    assert not checks["products match the ClassifiedWine schema"].passed


def test_duplicated_product_ids_fail():
    staged = clean_month()
    wines = classified_wines(reconciled(staged).products, 2.0)
    checks = run_gate(staged, wines=pd.concat([wines, wines.iloc[[0]]], ignore_index=True))
    assert not checks["product_id unique"].passed and checks["product_id unique"].detail == "product_id repeated: 1"


def test_the_record_carries_the_month_figures_and_every_check():
    staged = clean_month()
    result = reconciled(staged)
    wines = classified_wines(result.products, 2.0)
    checks = quality.gate(staged, wines, result.rejected_rows, result.turnover, result.funnel)
    record = quality.quality_record("2020-08", wines, result.turnover, checks, {"erp": {}})
    assert {key: record[key] for key in ("month", "products", "premium", "ordinary", "turnover")} == {
        "month": "2020-08", "products": 2, "premium": 0, "ordinary": 2, "turnover": 330.0}
    assert {"name", "level", "status", "observed", "expected"} <= set(record["checks"][0])
    funnel = next(check for check in record["checks"] if check["name"] == "row-count funnel per source")
    assert funnel["observed"]["erp"][0] == {"stage": "raw", "rows": 3}
