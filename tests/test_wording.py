"""The readers' wording: figures, changes and checks in words and numbers, never JSON."""

import numpy as np
import pytest

from bottleneck import wording


def test_figures_and_changes_read_with_their_units_and_signs():
    assert wording.figure("turnover", 70568.6) == "70,568.60 €"
    assert wording.figure("products", 714) == "714"
    assert wording.change("turnover", -12.5) == "−12.50 €"
    assert wording.change("units", 19) == "+19"
    assert wording.change("products", 0) == "no change"
    assert wording.change("products", None) == "—"
    assert wording.percent(0.42) == "+0.4 %"
    assert wording.percent(-3.45) == "−3.5 %"
    assert wording.percent(None) == "—"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"price": 0, "sku": {"web": 2, "erp": [1, 2]}}, "price 0; sku: web 2, erp 1, 2"),
        ({"erp": {"raw": 825, "kept": 714}, "web": {"raw": 1513}}, "erp: raw 825, kept 714; web: raw 1,513"),
        (np.int64(6206), "6,206"),
        (np.float64(24.2), "24.20"),
        (1234, "1,234"),
        (True, "yes"),
        (None, "—"),
        ("70568.60", "70568.60"),
        (0.5, "0.50"),
    ],
)
def test_values_read_in_words(value, words):
    assert wording.in_words(value) == words


def test_gate_line_counts_passed_warnings_and_failures():
    checks = [{"status": "passed"}] * 11 + [{"status": "warning"}]
    assert wording.gate_line(checks) == "11 checks passed, 1 warning"
    assert (
        wording.gate_line([{"status": "passed"}, {"status": "failed"}, {"status": "warning"}] * 2)
        == "2 checks passed, 2 warnings, 2 failed"
    )


def test_warnings_are_sentences_in_the_singular_or_plural():
    check = {
        "name": "no negative stock in erp.xlsx",
        "status": "warning",
        "observed": 1,
        "detail": "product_id with negative stock: 4973",
    }
    assert wording.warning_sentences([check]) == ["1 product has negative stock: 4973"]
    other = {"name": "some new check", "status": "warning", "observed": {"a": 1}, "detail": ""}
    assert wording.warning_sentences([{**check, "observed": 2}, other, {"status": "passed"}]) == [
        "2 products have negative stock: 4973",
        "some new check: a 1",
    ]


def test_the_funnel_is_a_table_of_source_step_and_rows():
    funnel = {
        "erp": [
            {"stage": "raw", "rows": 825},
            {"stage": "price must be above 0", "rows": 823},
            {"stage": "joined", "rows": 714},
        ],
        "products": 714,
    }
    assert wording.funnel_rows(funnel) == [
        ["erp.xlsx", "rows in the export", "825"],
        ["erp.xlsx", "after: price must be above 0", "823"],
        ["erp.xlsx", "found in all three exports", "714"],
        ["all three", "products", "714"],
    ]


def test_a_change_reads_as_a_sentence():
    row = {"change": "price", "product_id": 4042, "wine": "Cornas", "before": 29.9, "after": 31.2}
    assert wording.change_sentence(row) == "Cornas (4042): price changed, 29.90 € → 31.20 €"
    assert (
        wording.change_sentence({**row, "change": "gone", "after": ""})
        == "Cornas (4042): gone since last month, 29.90 €"
    )
