"""Staging: raw rows to typed tables, ids normalised, every schema failure named at once."""

import io

import pandas as pd
import pytest
import xlsxwriter

from bottleneck.demo import xlsx_bytes
from bottleneck.errors import InvalidInputError
from bottleneck.schemas import VOCABULARIES, StagedErp
from bottleneck.staging import folded_to_vocabulary, normalised_ids, required_columns, staged_table

ERP = ["product_id", "onsale_web", "price", "stock_quantity", "stock_status"]


def stage(source, columns, rows):
    return staged_table(source, xlsx_bytes(columns, rows), f"2020-08 {source}.xlsx", 50, 1000)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (15298, "15298"),
        (15298.0, "15298"),
        ("15298.0", "15298"),
        (" 15298 ", "15298"),
        ("bon-cadeau-25-euros", "bon-cadeau-25-euros"),
        ("13127-1", "13127-1"),
        (None, None),
        ("  ", None),
        ("+7.00", "7"),
        ("-7.0", "-7"),
        ("1.5", "1.5"),
        ("7.", "7"),
        (float("nan"), None),
        (pd.NA, None),
    ],
)
def test_ids_are_normalised_to_text(raw, expected):
    assert normalised_ids(pd.Series([raw, "x"], dtype=object)).tolist() == [expected, "x"]


def test_required_columns_come_from_the_schema():
    assert required_columns("erp") == ERP
    assert required_columns("liaison") == ["product_id", "id_web"]


def test_erp_is_typed():
    table = stage("erp", ERP, [[3847, 1, 24.2, 0, "outofstock"], [" 3848 ", 0, -8, -2, "instock"]])
    StagedErp.validate(table)
    assert table["product_id"].tolist() == [3847, 3848]
    assert table["source_row"].tolist() == [2, 3]
    assert str(table["product_id"].dtype) == "Int64"


def test_web_skus_stored_as_numbers_or_text_become_the_same_text():
    table = stage(
        "web",
        ["sku", "total_sales", "post_type", "post_title"],
        [[15298, 3, "product", "A"], ["15299.0", 1, "product", "B"], [None, None, "attachment", None]],
    )
    assert table["sku"].tolist()[:2] == ["15298", "15299"]
    assert pd.isna(table["sku"].tolist()[2])


def test_every_failing_column_and_rule_is_listed_with_its_row():
    with pytest.raises(InvalidInputError) as refusal:
        stage("erp", ERP, [[1, 1, "abc", 0, "instock"], [2, 5, 12.345, 3, "instock"], [None, 1, 3.5, 1, "x"]])
    message = str(refusal.value)
    assert message.startswith("2020-08 erp.xlsx: ")
    assert "column 'price' breaks rule 'type('float64')': 'abc' (row 2)" in message
    assert "column 'onsale_web' has a value outside its vocabulary (0, 1): 5 (row 3)" in message
    assert "column 'product_id' breaks rule 'not empty'" in message
    assert "(row 4)" in message


def test_prices_must_be_in_whole_cents_and_sales_whole_and_positive():
    with pytest.raises(InvalidInputError, match="price in whole cents"):
        stage("erp", ERP, [[1, 1, 12.345, 0, "instock"]])
    with pytest.raises(InvalidInputError, match="total_sales a whole number"):
        stage("web", ["sku", "total_sales", "post_type", "post_title"], [["1", 2.5, "product", "A"]])
    with pytest.raises(InvalidInputError, match="greater_than_or_equal_to"):
        stage("web", ["sku", "total_sales", "post_type", "post_title"], [["1", -2, "product", "A"]])


def test_a_month_with_no_rows_stages_an_empty_typed_table():
    table = stage("liaison", ["product_id", "id_web"], [])
    assert len(table) == 0
    assert list(table.columns) == ["source_row", "product_id", "id_web"]


def test_an_empty_price_is_refused_never_read_as_zero():
    with pytest.raises(InvalidInputError, match=r"column 'price' breaks rule 'not empty': nan \(row 3\)"):
        stage("erp", ERP, [[1, 1, 12.5, 0, "instock"], [2, 1, None, 0, "instock"]])


def test_a_sheet_starting_with_empty_rows_names_the_excel_row_of_each_failure():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(2, 1, ERP)  # header on Excel row 3, from column B
    sheet.write_row(3, 1, [1, 1, 9.5, 0, "instock"])
    sheet.write_row(5, 1, [2, 7, "abc", 0, "instock"])  # Excel row 6, after an empty row 5
    book.close()
    with pytest.raises(InvalidInputError) as refusal:
        staged_table("erp", buffer.getvalue(), "2020-08 erp.xlsx", 50, 1000)
    assert "'abc' (row 6)" in str(refusal.value)
    assert "7 (row 6)" in str(refusal.value)


WEB = ["sku", "total_sales", "post_type", "post_title"]


@pytest.mark.parametrize(
    ("source", "columns", "row", "named"),
    [
        ("web", WEB, ["1", 3, "product_variation", "A"], "column 'post_type' has a value outside its vocabulary "),
        ("web", WEB, ["1", 3, "produit", "A"], "(product, attachment): 'produit' (row 3)"),
        ("erp", ERP, [2, 1, 9.5, 0, "backorder"], "(instock, outofstock, onbackorder): 'backorder' (row 3)"),
        ("erp", ERP, [2, 1, 9.5, 0, "in stock"], "column 'stock_status' has a value outside its vocabulary"),
        ("erp", ERP, [2, 2, 9.5, 0, "instock"], "column 'onsale_web' has a value outside its vocabulary (0, 1): 2"),
    ],
)
def test_a_value_outside_its_vocabulary_refuses_the_month_naming_file_column_row_and_value(source, columns, row, named):
    first = {"web": ["2", 1, "product", "B"], "erp": [1, 1, 9.5, 0, "instock"]}[source]
    with pytest.raises(InvalidInputError) as refusal:
        stage(source, columns, [first, row])
    assert str(refusal.value).startswith(f"2020-08 {source}.xlsx: ")
    assert named in str(refusal.value)


def test_case_and_surrounding_spaces_are_the_same_value_folded_onto_the_declared_spelling():
    web = stage("web", WEB, [["1", 3, " Product ", "A"], ["2", 1, "ATTACHMENT", None], ["3", 1, "  ", None]])
    assert web["post_type"].tolist()[:2] == ["product", "attachment"]
    assert pd.isna(web["post_type"].tolist()[2])
    erp = stage("erp", ERP, [[1, 1, 9.5, 0, "InStock"], [2, 1, 9.5, 0, "\xa0outofstock\xa0"], [3, 1, 9.5, 0, None]])
    assert erp["stock_status"].tolist()[:2] == ["instock", "outofstock"]
    assert pd.isna(erp["stock_status"].tolist()[2])


def test_folding_changes_only_case_and_surrounding_spaces():
    cells = pd.Series([" PRODUCT", "pro duct", "products", 7, None], dtype=object)
    assert folded_to_vocabulary(cells, ("product", "attachment")).tolist() == [
        "product",
        "pro duct",
        "products",
        7,
        None,
    ]


@pytest.mark.parametrize(("source", "column"), [(s, c) for s, columns in VOCABULARIES.items() for c in columns])
def test_each_vocabulary_is_the_one_its_schema_applies(source, column):
    from bottleneck.schemas import STAGED

    [check] = [check for check in STAGED[source].to_schema().columns[column].checks if check.name == "isin"]
    assert tuple(check.statistics["allowed_values"]) == VOCABULARIES[source][column]
