"""Every cleaning rule of reconcile.RULES as DuckDB runs it, the join, the rejected rows and the funnel."""

from decimal import Decimal

import pandas as pd

from bottleneck.reconcile import DUPLICATE_RULE, JOIN_RULE, RULES, products_sql, reconciled, rule_sql
from bottleneck.staging import required_columns
from bottleneck.tables import parquet_bytes, parquet_files
from tests import frames


def month(erp=None, web=None, liaison=None):
    return {
        "erp": erp if erp is not None else frames.erp((1, 10.0), (2, 20.5)),
        "web": web if web is not None else frames.web(("101", 3), ("102", 2)),
        "liaison": liaison if liaison is not None else frames.liaison((1, "101"), (2, "102")),
    }


def rejected(result):
    rows = result.rejected_rows
    return sorted(zip(rows["source_file"], rows["key"].fillna(""), rows["rule"], strict=True))


def test_each_rule_is_rendered_from_its_declaration():
    rendered = {rule.view: " ".join(rule_sql(rule).split("\n")[1:]).strip() for rule in RULES}
    assert rendered["erp_priced"] == "SELECT * FROM staged_erp WHERE price > 0"
    assert rendered["web_products"] == "SELECT * FROM staged_web WHERE post_type = 'product'"
    assert rendered["web_with_sku"] == "SELECT * FROM web_products WHERE sku IS NOT NULL"
    assert rendered["liaison_clean"] == (
        "SELECT * FROM liaison_linked QUALIFY row_number() OVER "
        "(PARTITION BY product_id, id_web ORDER BY source_row) = 1"
    )
    assert "ON erp.product_id = liaison.product_id" in products_sql()
    assert "ON liaison.id_web = web.sku" in products_sql()


def test_a_duplicate_row_is_one_identical_in_every_column_read():
    for rule in RULES:
        if rule.name == DUPLICATE_RULE:
            assert sorted(rule.distinct_on) == sorted(required_columns(rule.source)), rule.view


def test_clean_month_joins_everything_and_computes_revenue_in_cents():
    result = reconciled(month())
    assert result.products[["product_id", "sku", "revenue"]].values.tolist() == [[1, "101", 30.0], [2, "102", 41.0]]
    assert result.products[["erp_row", "liaison_row", "web_row"]].values.tolist() == [[2, 2, 2], [3, 3, 3]]
    assert result.turnover == Decimal("71.00")
    assert result.rejected_rows.empty


def test_turnover_is_exact_where_floats_are_not():
    result = reconciled(month(erp=frames.erp((1, 0.1), (2, 0.2)), web=frames.web(("101", 3), ("102", 3))))
    assert result.turnover == Decimal("0.90")


def test_erp_price_not_above_zero_is_rejected():
    result = reconciled(month(erp=frames.erp((1, 10.0), (2, -8.0))))
    assert result.products["product_id"].tolist() == [1]
    assert ("erp.xlsx", "2", "price must be above 0") in rejected(result)


def test_erp_keeps_a_repeated_row_once_but_not_a_row_that_differs():
    result = reconciled(month(erp=frames.erp((1, 10.0), (2, 20.5), (1, 10.0), (1, 10.0, 7))))
    assert result.products["erp_row"].tolist() == [2, 5, 3]
    assert ("erp.xlsx", "1", "duplicate row") in rejected(result)


def test_a_sku_linked_twice_joins_twice_for_the_gate_to_refuse():
    result = reconciled(
        month(
            erp=frames.erp((1, 10.0), (2, 20.5), (3, 5.0)), liaison=frames.liaison((1, "101"), (2, "102"), (3, "101"))
        )
    )
    assert result.products["web_row"].tolist() == [2, 3, 2]


def test_web_keeps_products_with_a_sku_once():
    web = frames.web(("101", 3), ("101", 3), ("102", 2), ("102", None, "attachment", None), (None, 4))
    result = reconciled(month(web=web))
    assert result.products["sku"].tolist() == ["101", "102"]
    assert sorted(rule for file, key, rule in rejected(result) if file == "web.xlsx") == [
        "duplicate row",
        "post_type must be 'product'",
        "sku must be present",
    ]


def test_liaison_without_id_web_is_rejected_and_the_join_loss_is_recorded():
    result = reconciled(month(liaison=frames.liaison((1, "101"), (2, None))))
    assert result.products["product_id"].tolist() == [1]
    assert ("liaison.xlsx", "2", "id_web must be present") in rejected(result)
    assert ("erp.xlsx", "2", JOIN_RULE) in rejected(result)
    assert ("web.xlsx", "102", JOIN_RULE) in rejected(result)


def test_funnel_counts_each_stage():
    web = frames.web(("101", 3), ("102", 2), ("x", None, "attachment", None))
    result = reconciled(month(erp=frames.erp((1, 10.0), (2, 20.5), (3, 0.0)), web=web))
    assert [stage["rows"] for stage in result.funnel["erp"]] == [3, 2, 2, 2]
    assert [stage["rows"] for stage in result.funnel["web"]] == [3, 2, 2, 2, 2]
    assert result.funnel["products"] == 2


def test_an_empty_month_reconciles_to_nothing():
    result = reconciled(month(erp=frames.erp(), web=frames.web(), liaison=frames.liaison()))
    assert result.products.empty
    assert result.turnover == Decimal("0.00")


def test_a_link_to_a_sku_not_on_the_web_is_a_join_loss_not_a_product():
    result = reconciled(month(liaison=frames.liaison((1, "101"), (2, "999"))))
    assert result.products["product_id"].tolist() == [1]
    assert {("erp.xlsx", "2", JOIN_RULE), ("liaison.xlsx", "2", JOIN_RULE), ("web.xlsx", "102", JOIN_RULE)} <= set(
        rejected(result)
    )


def test_revenue_keeps_every_cent_of_the_price():
    result = reconciled(month(erp=frames.erp((1, 10.25), (2, 0.99))))
    assert result.turnover == Decimal("32.73")


def test_two_wines_of_the_same_revenue_both_count():
    result = reconciled(month(erp=frames.erp((1, 10.0), (2, 15.0)), web=frames.web(("101", 3), ("102", 2))))
    assert result.turnover == Decimal("60.00")


def test_wine_names_are_shown_as_written():
    from bottleneck.reconcile import written_name

    assert (
        written_name("Champagne Petit Lebrun &amp; Fils Blanc de Blancs")
        == "Champagne Petit Lebrun & Fils Blanc de Blancs"
    )
    assert written_name("  Mas Amiel&nbsp;2015 ") == "Mas Amiel 2015"
    assert written_name("Ch&acirc;teau  d&#39;Yquem") == "Château d'Yquem"
    assert written_name(None) is None


def test_staged_tables_read_from_their_parquet_files_reconcile_as_the_frames_do():
    staged = month(
        erp=frames.erp((1, 10.0), (2, 20.5), (1, 10.0), (3, -1.0)),
        web=frames.web(("101", 3), ("102", 2), (None, 1), ("103", 4)),
        liaison=frames.liaison((1, "101"), (2, "102"), (4, None)),
    )
    from_frames = reconciled(staged)
    with parquet_files({source: parquet_bytes(table) for source, table in staged.items()}) as paths:
        from_files = reconciled(paths)
    pd.testing.assert_frame_equal(from_files.products, from_frames.products)
    pd.testing.assert_frame_equal(from_files.rejected_rows, from_frames.rejected_rows)
    assert from_files.funnel == from_frames.funnel
    assert from_files.turnover == from_frames.turnover
    assert from_files.funnel["erp"][0]["rows"] == 4
    assert len(from_files.rejected_rows) > 3
