"""Acceptance on the real month: the merchant's published figures, in every deliverable."""

import csv
import io
import json
from decimal import Decimal

import openpyxl
import pytest

from tests.months import copy_month, run_month

PRODUCTS, PREMIUM, ORDINARY, TURNOVER = 714, 30, 684, Decimal("70568.60")


@pytest.fixture(scope="module")
def reports(seed_month, tmp_path_factory):
    root = tmp_path_factory.mktemp("acceptance")
    lake = root / "lake"
    copy_month(seed_month, lake)
    result = run_month(lake, root)
    assert result.returncode == 0, result.stderr
    return lake / "reports" / "2020" / "08"


def csv_rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_quality_json_figures(reports):
    quality = json.loads((reports / "quality.json").read_text())
    assert (quality["month"], quality["products"], quality["premium"], quality["ordinary"]) == (
        "2020-08",
        PRODUCTS,
        PREMIUM,
        ORDINARY,
    )
    assert Decimal(str(quality["turnover"])).quantize(Decimal("0.01")) == TURNOVER
    assert quality["turnover_cents"] == 7056860
    assert quality["passed"]
    assert all(check["status"] != "failed" for check in quality["checks"])


def test_csv_figures(reports):
    premium, ordinary = csv_rows(reports / "premium_wines.csv"), csv_rows(reports / "ordinary_wines.csv")
    assert (len(premium), len(ordinary)) == (PREMIUM, ORDINARY)
    assert sum(Decimal(row["revenue"]) for row in premium + ordinary) == TURNOVER
    assert len({row["product_id"] for row in premium + ordinary}) == PRODUCTS
    assert all(float(row["price_zscore"]) > 2 for row in premium)
    rejected = csv_rows(reports / "rejected_rows.csv")
    assert {row["rule"] for row in rejected if row["source_file"] == "erp.xlsx"} >= {"price must be above 0"}
    assert sum(1 for row in rejected if row["rule"] == "price must be above 0") == 2


def test_workbook_figures(reports):
    book = openpyxl.load_workbook(reports / "report.xlsx")
    summary = book["Summary"]
    figures = {summary.cell(row, 1).value: summary.cell(row, 2).value for row in range(3, 9)}
    assert (figures["Products"], figures["Premium wines"], figures["Ordinary wines"]) == (PRODUCTS, PREMIUM, ORDINARY)
    assert Decimal(str(figures["Turnover"])).quantize(Decimal("0.01")) == TURNOVER
    assert book["All products"].max_row == PRODUCTS + 1
    assert (book["Premium"].max_row, book["Ordinary"].max_row) == (PREMIUM + 1, ORDINARY + 1)
    revenue = sum(Decimal(str(cell.value)).quantize(Decimal("0.01")) for cell in book["All products"]["F"][1:])
    assert revenue == TURNOVER
