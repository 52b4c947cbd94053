"""Month over month through the real task tree: the real month after a changed copy of it, in either order.

The copy (2020-07) has three wines fewer, four prices changed, one of them putting a wine that is
premium in the real month (2020-08) below the premium line. The real month's report must show
exactly those changes, whichever month ran first, and whether or not the month before ran at all.
"""

import csv
import email
import email.policy
import html
import io
import json
from decimal import Decimal

import openpyxl
import pytest

from tests.months import changed_copy, copy_month, raw_folder, run_month, write_tiny_month

REMOVED = {3847: "15298", 4050: "16449", 4070: "15444"}  # product_id: sku, absent from the copy
PRICES = {4042: 29.9, 4066: 22.5, 4067: 21.0}  # sold wines: their revenue moves too
PUSHED = {4132: 84.0}  # premium in the real month (88.40), below the premium line in the copy
PRODUCTS, PREMIUM, TURNOVER = 714, 30, Decimal("70568.60")


@pytest.fixture(scope="module")
def two_months(seed_month, tmp_path_factory):
    """Both months' exports in one lake, as a template for each order."""
    lake = tmp_path_factory.mktemp("two-months") / "lake"
    copy_month(seed_month, lake, "2020-08")
    changed_copy(seed_month, lake, "2020-07", REMOVED, {**PRICES, **PUSHED})
    return lake


def fresh_lake(template, tmp_path):
    import shutil

    lake = tmp_path / "lake"
    shutil.copytree(template / "raw", lake / "raw")
    return lake


def run_in_order(lake, cwd, months):
    for month in months:
        result = run_month(lake, cwd, month)
        assert result.returncode == 0, result.stderr


def reports(lake, month="2020-08"):
    return lake / "reports" / month[:4] / month[5:]


def rows_of(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def expected_changes(real_wines: dict) -> list[tuple]:
    """(change, product_id, wine, before, after) as designed, with the real month's names, prices and sales."""

    def price(product_id):
        return Decimal(real_wines[product_id]["price"])

    def revenue(product_id, at):
        return f"{Decimal(str(at)) * int(real_wines[product_id]['total_sales']):.2f}"

    rows = [("new", pid, real_wines[pid]["post_title"], "", f"{price(pid):.2f}") for pid in sorted(REMOVED)]
    changed = {**PRICES, **PUSHED}
    rows += [
        ("price", pid, real_wines[pid]["post_title"], f"{changed[pid]:.2f}", f"{price(pid):.2f}")
        for pid in sorted(changed)
    ]
    rows += [("premium", pid, real_wines[pid]["post_title"], "ordinary", "premium") for pid in PUSHED]
    movers = sorted(
        PRICES, key=lambda pid: (-abs(Decimal(revenue(pid, price(pid))) - Decimal(revenue(pid, PRICES[pid]))), pid)
    )
    rows += [
        ("revenue", pid, real_wines[pid]["post_title"], revenue(pid, PRICES[pid]), revenue(pid, price(pid)))
        for pid in movers
    ]
    return rows


@pytest.fixture(scope="module")
def both_orders(two_months, tmp_path_factory):
    """The two months run in each order, each in its own lake."""
    lakes = {}
    for order in (("2020-07", "2020-08"), ("2020-08", "2020-07")):
        root = tmp_path_factory.mktemp("-then-".join(order))
        lakes[order] = fresh_lake(two_months, root)
        run_in_order(lakes[order], root, order)
    return lakes


def test_the_real_month_shows_exactly_the_designed_changes_in_either_order(both_orders):
    first, second = (reports(lake) for lake in both_orders.values())
    real = {
        int(row["product_id"]): row
        for name in ("premium_wines.csv", "ordinary_wines.csv")
        for row in rows_of(first / name)
    }
    assert len(real) == PRODUCTS
    assert sum(Decimal(row["revenue"]) for row in real.values()) == TURNOVER
    changes = [
        (row["change"], int(row["product_id"]), row["wine"], row["before"], row["after"])
        for row in rows_of(first / "changes.csv")
    ]
    assert changes == expected_changes(real)
    assert float(real[4132]["price_zscore"]) > 2
    assert real[4132]["price"] == "88.40"
    assert (first / "changes.csv").read_bytes() == (second / "changes.csv").read_bytes()
    assert rows_of(first / "changes.csv")[0].keys() >= {"change", "product_id", "sku", "wine", "before", "after"}


def test_quality_json_holds_the_previous_month_as_made_from_its_exports(both_orders):
    records = [json.loads((reports(lake) / "quality.json").read_text()) for lake in both_orders.values()]
    real = {
        int(row["product_id"]): row
        for name in ("premium_wines.csv", "ordinary_wines.csv")
        for row in rows_of(reports(next(iter(both_orders.values()))) / name)
    }
    removed_revenue = sum(Decimal(real[pid]["revenue"]) for pid in REMOVED)
    moved = sum(
        (Decimal(str(price)) - Decimal(real[pid]["price"])) * int(real[pid]["total_sales"])
        for pid, price in {**PRICES, **PUSHED}.items()
    )
    previous = {
        "month": "2020-07",
        "products": PRODUCTS - len(REMOVED),
        "premium": PREMIUM - 1,
        "ordinary": PRODUCTS - len(REMOVED) - PREMIUM + 1,
        "units": sum(int(row["total_sales"]) for pid, row in real.items() if pid not in REMOVED),
        "turnover": float(TURNOVER - removed_revenue + moved),
    }
    for record in records:
        assert (record["products"], record["premium"], record["turnover_cents"]) == (PRODUCTS, PREMIUM, 7056860)
        assert record["previous_month"] == previous
        assert record["no_comparison"] is None
        assert record["history"][-2:] == [previous, {key: record[key] for key in previous}]
        assert record["history"][0]["month"] == "2019-09"
        assert record["history"][0] == {"month": "2019-09", "gap": "2019-09: no raw exports in the lake"}
    assert records[0]["previous_month"] == records[1]["previous_month"]
    assert records[0]["headline"] == records[1]["headline"]


def test_the_workbook_and_the_email_show_the_changes(both_orders):
    folder = reports(next(iter(both_orders.values())))
    book = openpyxl.load_workbook(folder / "report.xlsx")
    sheet = [[cell.value for cell in row] for row in book["Changes"].iter_rows()]
    assert len(sheet) == 1 + len(rows_of(folder / "changes.csv"))
    assert sheet[8][:5] == ["premium", 4132, "11668", sheet[7][3], "ordinary"]
    summary = book["Summary"]
    assert [summary.cell(3, column).value for column in range(1, 6)] == ["Products", PRODUCTS, 711, "+3", "+0.4 %"]
    message = email.message_from_bytes((folder / "email.eml").read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "Compared with 2020-07." in text
    assert "3 new wines, 4 price changes, 1 now premium, 3 biggest revenue moves." in text
    pushed = next(row for row in rows_of(folder / "changes.csv") if row["change"] == "premium")
    assert f"- {pushed['wine']} (4132): became premium, ordinary → premium" in text
    assert "2 products have negative stock: 4973, 5700" in text
    assert "28 checks passed, 1 warning." in text
    assert "Judged against 2020-07, the only month before with figures: 714 products against 711, " in text
    assert "changes.csv" in {part.get_filename() for part in message.iter_attachments()}


def test_wine_names_are_decoded_and_trimmed_in_every_output(both_orders):
    folder = reports(next(iter(both_orders.values())))
    message = email.message_from_bytes((folder / "email.eml").read_bytes(), policy=email.policy.default)
    texts = {
        name: (folder / name).read_text(encoding="utf-8")
        for name in ("premium_wines.csv", "ordinary_wines.csv", "changes.csv")
    }
    texts["email text"] = message.get_body(("plain",)).get_content()
    texts["email page as shown"] = html.unescape(message.get_body(("html",)).get_content())
    for name, text in texts.items():
        assert "&amp;" not in text, name
        assert "&#" not in text, name
    titles = [
        row["post_title"] for name in ("premium_wines.csv", "ordinary_wines.csv") for row in rows_of(folder / name)
    ]
    assert any(" & " in title for title in titles)
    assert all(title == title.strip() and "  " not in title for title in titles)
    book = openpyxl.load_workbook(folder / "report.xlsx")
    assert not [cell.value for cell in book["All products"]["C"] if "&amp;" in str(cell.value)]


def test_a_previous_month_that_cannot_be_processed_never_blocks_the_report(seed_month, tmp_path):
    lake = tmp_path / "lake"
    copy_month(seed_month, lake, "2020-08")
    july = changed_copy(seed_month, lake, "2020-07", {}, {})  # the same rows in files of their own: not stale
    (raw_folder(lake, "2020-06") / "erp.xlsx").write_bytes((july / "erp.xlsx").read_bytes())
    (july / "erp.xlsx").write_bytes(b"product_id;price\n1;10\n")
    result = run_month(lake, tmp_path, "2020-08")
    assert result.returncode == 0, result.stderr
    record = json.loads((reports(lake) / "quality.json").read_text())
    assert record["previous_month"] is None
    assert record["products"] == PRODUCTS
    assert record["no_comparison"].startswith("2020-07 erp.xlsx: not an xlsx workbook")
    assert {
        "month": "2020-06",
        "gap": "2020-06: raw exports not ready: missing web.xlsx; missing liaison.xlsx",
    } in record["history"]
    assert (reports(lake) / "changes.csv").read_bytes() == b"change,product_id,sku,wine,before,after\r\n"
    text = (reports(lake) / "email.eml").read_bytes().decode("utf-8", errors="replace")
    assert "No comparison with the month before: 2020-07 erp.xlsx: not an xlsx workbook" in text


def test_a_previous_month_that_fails_its_gate_is_no_comparison_with_the_reason(tmp_path):
    lake = tmp_path / "lake"
    erp = [[1, 1, 10.0, 5, "instock"], [2, 1, 30.0, 5, "instock"]]
    write_tiny_month(
        lake,
        [*erp, [1, 1, 12.0, 5, "instock"]],
        [["101", 3, "product", "A"], ["102", 1, "product", "B"]],
        [[1, "101"], [2, "102"]],
        month="2020-07",
    )
    write_tiny_month(lake, erp, [["101", 3, "product", "A"], ["102", 1, "product", "B"]], [[1, "101"], [2, "102"]])
    result = run_month(lake, tmp_path, "2020-08")
    assert result.returncode == 0, result.stderr
    record = json.loads((reports(lake) / "quality.json").read_text())
    assert record["no_comparison"].startswith("2020-07: quality gate failed: ")
    assert "one price a product_id in erp.xlsx" in record["no_comparison"]
    assert run_month(lake, tmp_path, "2020-07").returncode == 7  # the month itself still fails its gate


def test_month_figures_are_made_again_when_the_exports_arrive(local_lake, seed_month):
    import datetime as dt

    from bottleneck.tasks import MonthFigures

    task = MonthFigures(month=dt.date(2020, 7, 1))
    figures = local_lake.joinpath("work/2020/07/figures.json")
    assert task.complete()
    assert not figures.exists()
    folder = copy_month(seed_month, local_lake, "2020-07")
    assert not task.complete()
    task.run()
    assert task.complete()
    assert json.loads(figures.read_text())["figures"]["products"] == PRODUCTS
    (folder / "erp.xlsx").unlink()
    assert not task.complete()
    task.run()
    assert task.complete()
    assert "missing erp.xlsx" in json.loads(figures.read_text())["reason"]


def test_on_s3_the_month_alone_gives_the_same_changes(two_months, both_orders, s3_server, tmp_path):
    client = s3_server.client()
    client.create_bucket(Bucket="compare-lake")
    for path in (two_months / "raw").rglob("*.xlsx"):
        client.upload_file(str(path), "compare-lake", f"lake/{path.relative_to(two_months).as_posix()}")
    result = run_month("s3://compare-lake/lake", tmp_path, "2020-08", env=s3_server.env())
    assert result.returncode == 0, result.stderr
    body = client.get_object(Bucket="compare-lake", Key="lake/reports/2020/08/changes.csv")["Body"].read()
    assert body == (reports(next(iter(both_orders.values()))) / "changes.csv").read_bytes()
