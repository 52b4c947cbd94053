"""The fault catalogue (docs/quality-gate.md): each fault put into a copy of the real month, run through the task tree.

Every faulty month lives in one lake and runs in one `bottleneck-run RangeMonthly` process (a month
costs ~0.5 s there, against ~2 s for a process of its own); each test then reads its month's outcome
as an operator would: the reports, the failed gate's record and the failure alert. The exit code of
a month is the code of the typed error its alert names; `test_the_process_exits_with_...` checks the
real process's code for the headline fault.
"""

import csv
import datetime as dt
import email
import email.policy
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from python_calamine import CalamineWorkbook

from bottleneck import errors
from bottleneck.demo import xlsx_bytes
from tests.months import copy_month, raw_folder, run, run_month

SOURCES = ("erp", "web", "liaison")
PRODUCTS, TURNOVER = 714, "70568.60"
LINKED_SKU, LINKED_PRODUCT = "15298", 3847  # linked by liaison.xlsx row 2; web.xlsx row 524, 6 sold
WEB_ROW_OF_LINKED_SKU = 524
UNJOINED_ERP_ROW, UNJOINED_LIAISON_ROW = 21, 195  # rows the inner join leaves out of the real month


def _key(value: object) -> str | None:
    """A sku or id_web as text, whether the export wrote it as 15298 or 15298.0."""
    return None if value is None else str(value).removesuffix(".0").strip()


class Exports:
    """The real month's three exports as rows (header first), to edit like a spreadsheet."""

    _seed: ClassVar[dict[str, tuple[list[list], bytes]]] = {}  # the rows and bytes of each export, read once

    def __init__(self, seed: Path):
        if not Exports._seed:
            for source in SOURCES:
                book = CalamineWorkbook.from_path(str(seed / f"{source}.xlsx"))
                rows = [
                    [None if cell == "" else cell for cell in row] for row in book.get_sheet_by_index(0).iter_rows()
                ]
                Exports._seed[source] = (rows, (seed / f"{source}.xlsx").read_bytes())
        self.rows = {source: [list(row) for row in rows] for source, (rows, _) in Exports._seed.items()}
        self.edited: set[str] = set()
        self.same_as = ""  # the fault whose month's files this month's are, byte for byte (a stale upload)
        self.absent = False  # no file at all: a gap in the lake

    def column(self, source: str, name: str) -> int:
        return self.rows[source][0].index(name)

    def set(self, source: str, excel_row: int, name: str, value) -> None:
        self.rows[source][excel_row - 1][self.column(source, name)] = value
        self.edited.add(source)

    def get(self, source: str, excel_row: int, name: str):
        return self.rows[source][excel_row - 1][self.column(source, name)]

    def append(self, source: str, **values) -> int:
        """Adds a row at the end; returns its Excel row number."""
        row = [None] * len(self.rows[source][0])
        for name, value in values.items():
            row[self.column(source, name)] = value
        self.rows[source].append(row)
        self.edited.add(source)
        return len(self.rows[source])

    def product_rows(self) -> list[int]:
        """Excel rows of web.xlsx that are products with a sku (the rows that become products)."""
        post_type, sku = self.column("web", "post_type"), self.column("web", "sku")
        return [
            number
            for number, row in enumerate(self.rows["web"], start=1)
            if row[post_type] == "product" and row[sku] is not None
        ]

    def linked_wines(self) -> list[tuple[float, str]]:
        """(product_id, sku) of each wine the liaison links to a web product: the wines that become products."""
        web = {_key(row[self.column("web", "sku")]) for row in self.rows["web"][1:]}
        product_id, id_web = self.column("liaison", "product_id"), self.column("liaison", "id_web")
        return sorted(
            {(row[product_id], sku) for row in self.rows["liaison"][1:] if (sku := _key(row[id_web])) and sku in web}
        )

    def remove_wines(self, wines: list[tuple[float, str]]) -> None:
        """Takes the wines out of all three exports: a catalogue a few wines smaller."""
        products, skus = {product_id for product_id, _ in wines}, {sku for _, sku in wines}
        for source, column, gone in (("erp", "product_id", products), ("liaison", "product_id", products)):
            position = self.column(source, column)
            self.rows[source][1:] = [row for row in self.rows[source][1:] if row[position] not in gone]
        position = self.column("web", "sku")
        self.rows["web"][1:] = [row for row in self.rows["web"][1:] if _key(row[position]) not in skus]
        self.edited.update(SOURCES)

    def scale_sales(self, factor: float) -> None:
        """Every wine's units sold times `factor`, rounded: a month that sold more or less."""
        position = self.column("web", "total_sales")
        for row in self.rows["web"][1:]:
            if isinstance(row[position], (int, float)):
                row[position] = float(round(row[position] * factor))
        self.edited.add("web")

    def cut(self, source: str, rows: int) -> None:
        """Keeps the first `rows` data rows: an export stopped by a filter or a page limit."""
        del self.rows[source][rows + 1 :]
        self.edited.add(source)

    def write(self, lake: Path, month: str, written: dict[str, dict[str, bytes]]) -> dict[str, bytes]:
        """Writes the month's exports, each a file of its own month (its document date the month's first day), so
        that no two months' files are the same bytes unless a fault says so."""
        if self.absent:
            return {}
        folder = raw_folder(lake, month)
        created = dt.datetime.strptime(month, "%Y-%m")
        files = written[self.same_as] if self.same_as else {}
        for source in SOURCES:
            rows = self.rows[source]
            files.setdefault(source, xlsx_bytes(rows[0], rows[1:], created))
            (folder / f"{source}.xlsx").write_bytes(files[source])
        return files


# ---------------------------------------------------------------------------------------------------------------
# The faults: each edits a copy of the real month. Months are consecutive, from FIRST_MONTH, in this order.


def cut_web_without_history(month: Exports) -> None:
    month.cut("web", 700)  # the first month of the lake: nothing to compare it with


def sku_linked_to_two_products(month: Exports) -> None:
    month.append("erp", product_id=99001, onsale_web=1, price=19.9, stock_quantity=3, stock_status="instock")
    month.append("liaison", product_id=99001, id_web=float(LINKED_SKU))


def product_linked_to_two_skus(month: Exports) -> None:
    month.append("web", sku=99002, total_sales=4, post_type="product", post_title="Vin de faute 2019")
    month.append("liaison", product_id=LINKED_PRODUCT, id_web=99002)


def empty_total_sales(month: Exports) -> None:
    month.set("web", WEB_ROW_OF_LINKED_SKU, "total_sales", None)


def non_numeric_total_sales(month: Exports) -> None:
    month.set("web", WEB_ROW_OF_LINKED_SKU, "total_sales", "six")


def negative_total_sales(month: Exports) -> None:
    month.set("web", WEB_ROW_OF_LINKED_SKU, "total_sales", -6)


def empty_price(month: Exports) -> None:
    month.set("erp", 2, "price", None)


def non_numeric_price(month: Exports) -> None:
    month.set("erp", 2, "price", "24,20 €")


def empty_erp_product_id(month: Exports) -> None:
    month.set("erp", 2, "product_id", None)


def empty_liaison_product_id(month: Exports) -> None:
    month.set("liaison", 2, "product_id", None)


def empty_sku(month: Exports) -> None:
    month.set("web", WEB_ROW_OF_LINKED_SKU, "sku", None)


def empty_id_web(month: Exports) -> None:
    month.set("liaison", UNJOINED_LIAISON_ROW, "id_web", None)


def price_not_above_zero(month: Exports) -> None:
    month.set("erp", UNJOINED_ERP_ROW, "price", 0)


def linked_product_priced_zero(month: Exports) -> None:
    month.set("erp", 2, "price", 0)


def repeated_rows(month: Exports) -> None:
    for source, row in (("erp", 2), ("liaison", 2), ("web", WEB_ROW_OF_LINKED_SKU)):
        month.rows[source].append(list(month.rows[source][row - 1]))
        month.edited.add(source)


def conflicting_prices(month: Exports) -> None:
    row = list(month.rows["erp"][1])
    row[month.column("erp", "price")] = 26.5
    month.rows["erp"].append(row)
    month.edited.add("erp")


def conflicting_sales(month: Exports) -> None:
    row = list(month.rows["web"][WEB_ROW_OF_LINKED_SKU - 1])
    row[month.column("web", "total_sales")] = 9
    month.rows["web"].append(row)
    month.edited.add("web")


def web_product_not_linked(month: Exports) -> None:
    month.append("web", sku=99003, total_sales=2, post_type="product", post_title="Vin sans lien 2019")


def headers_only(month: Exports) -> None:
    for source in SOURCES:
        del month.rows[source][1:]
        month.edited.add(source)


def nothing_joins(month: Exports) -> None:
    id_web = month.column("liaison", "id_web")
    for row in month.rows["liaison"][1:]:
        if row[id_web] is not None:
            row[id_web] = f"x{row[id_web]}"
    month.edited.add("liaison")


def equal_prices(month: Exports) -> None:
    price = month.column("erp", "price")
    for row in month.rows["erp"][1:]:
        if row[price] is not None and row[price] > 0:
            row[price] = 24.6  # near the real month's average: the turnover a normal month's
    month.edited.add("erp")


def unknown_post_type(month: Exports) -> None:
    month.set("web", 2, "post_type", "product_variation")  # an image's row, which a filter would drop


def unknown_stock_status(month: Exports) -> None:
    month.set("erp", 3, "stock_status", "backorder")


def case_and_spaces(month: Exports) -> None:
    month.set("web", WEB_ROW_OF_LINKED_SKU, "post_type", " Product ")
    month.set("erp", 2, "stock_status", "OutOfStock")


def stale_upload(month: Exports) -> None:
    month.same_as = "case_and_spaces"  # the month before's files, uploaded again


def plausible(name: str, seed: int, sales: float = 1.0) -> Callable[[Exports], None]:
    """A month like the real one, as the months of a merchant differ: a few wines fewer (3 to 8), every wine's
    sales a few percent apart (and `sales` times the real month's: a season)."""

    def month(exports: Exports) -> None:
        rng = random.Random(seed)
        exports.remove_wines(rng.sample(exports.linked_wines(), rng.randint(3, 8)))
        exports.scale_sales(sales * rng.uniform(0.95, 1.05))

    month.__name__ = name
    return month


def cut_web_after_one_month(month: Exports) -> None:
    month.cut("web", 700)


def real_month(month: Exports) -> None:
    """The real month, after six plausible ones."""


def cut_web_after_six_months(month: Exports) -> None:
    month.cut("web", 700)


def cut_erp(month: Exports) -> None:
    month.cut("erp", 400)


def cut_liaison(month: Exports) -> None:
    month.cut("liaison", 400)


def prices_in_cents(month: Exports) -> None:
    price = month.column("erp", "price")
    for row in month.rows["erp"][1:]:
        if isinstance(row[price], (int, float)):
            row[price] = round(row[price] * 100, 2)
    month.edited.add("erp")


def units_typed_in_hundreds(month: Exports) -> None:
    month.set("web", WEB_ROW_OF_LINKED_SKU, "total_sales", 600)  # 6 sold, typed 600


def gap(month: Exports) -> None:
    month.absent = True  # no export at all this month


# Wine sells by season: a year of months around the real one, December two and a half times a summer month.
SEASON = {1: 0.8, 2: 0.85, 3: 0.95, 4: 1.0, 5: 1.0, 6: 0.95, 7: 0.9, 8: 0.7, 9: 1.0, 10: 1.15, 11: 1.7, 12: 2.6}

FAULTS = [
    # No month before, then one.
    cut_web_without_history,
    plausible("first_plausible_month", 1),
    cut_web_after_one_month,
    # What a month shows alone, or against months like the real one.
    sku_linked_to_two_products,
    product_linked_to_two_skus,
    empty_total_sales,
    non_numeric_total_sales,
    negative_total_sales,
    empty_price,
    non_numeric_price,
    empty_erp_product_id,
    empty_liaison_product_id,
    empty_sku,
    empty_id_web,
    price_not_above_zero,
    linked_product_priced_zero,
    repeated_rows,
    conflicting_prices,
    conflicting_sales,
    web_product_not_linked,
    headers_only,
    nothing_joins,
    equal_prices,
    unknown_post_type,
    unknown_stock_status,
    case_and_spaces,
    stale_upload,
    # Six plausible months, the real month, the faults that only history shows, a gap.
    *(plausible(f"plausible_{number}", 10 + number) for number in range(1, 7)),
    real_month,
    cut_web_after_six_months,
    cut_erp,
    cut_liaison,
    gap,
    plausible("plausible_after_a_gap", 20),
    units_typed_in_hundreds,
    prices_in_cents,
    # A year with a seasonal peak.
    *(plausible(f"season_{month:02d}", 30 + month, SEASON[month]) for month in SEASON),
]
FIRST_MONTH = 2017 * 12 + 8  # 2017-09, counted in months


def month_of(fault) -> str:
    months = FIRST_MONTH + FAULTS.index(fault)
    return f"{months // 12}-{months % 12 + 1:02d}"


# ---------------------------------------------------------------------------------------------------------------
# Outcomes, read from the lake.

EXIT_CODES = {
    cls.__name__: cls.exit_code
    for cls in (
        errors.MissingSourceError,
        errors.InvalidInputError,
        errors.QualityGateError,
        errors.DeliveryError,
        errors.LakeError,
    )
}


@dataclass
class Outcome:
    lake: Path
    month: str

    def path(self, folder: str, name: str) -> Path:
        return self.lake / folder / self.month[:4] / self.month[5:] / name

    @property
    def alert(self) -> str:
        alerts = sorted((self.lake / "alerts" / self.month[:4] / self.month[5:]).glob("*-alert.eml"))
        if not alerts:
            return ""
        assert len(alerts) == 1, alerts
        message = email.message_from_bytes(alerts[0].read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None, f"{alerts[0]} has no plain text"
        return body.get_content()

    @property
    def error(self) -> str:
        """The error line of the alert: 'TypeName: message'."""
        lines = self.alert.splitlines()
        return lines[lines.index("Error:") + 1] if "Error:" in lines else ""

    @property
    def exit_code(self) -> int:
        if not self.alert:
            return 0 if self.path("reports", "email.json").exists() else -1
        return EXIT_CODES.get(self.error.split(":")[0], 1)

    @property
    def emailed(self) -> bool:
        return self.path("reports", "email.eml").exists()

    @property
    def failed_gate(self) -> dict:
        return json.loads(self.path("work", "quality_failed.json").read_text())

    def csv(self, name: str) -> list[dict]:
        return list(csv.DictReader(io.StringIO(self.path("reports", name).read_text(encoding="utf-8"), newline="")))

    @property
    def quality(self) -> dict:
        return json.loads(self.path("reports", "quality.json").read_text())


@pytest.fixture(scope="module")
def outcomes(seed_month, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("faults")
    lake = root / "lake"
    written: dict[str, dict[str, bytes]] = {}
    for fault in FAULTS:
        exports = Exports(seed_month)
        fault(exports)
        written[fault.__name__] = exports.write(lake, month_of(fault), written)
    last = FAULTS[-1]
    year, month = map(int, month_of(last).split("-"))
    stop = f"{year + month // 12}-{month % 12 + 1:02d}"
    months = ["--start", month_of(FAULTS[0]), "--stop", stop, "--task-limit", str(len(FAULTS))]  # 50 by default
    result = run(
        ["RangeMonthly", "--of", "RunMonth", *months, "--local-scheduler"],
        lake,
        root,
    )
    assert result.returncode != 0, "faulty months ran as if clean"
    found = {fault.__name__: Outcome(lake, month_of(fault)) for fault in FAULTS if fault is not gap}
    crashed = {name: outcome.error for name, outcome in found.items() if outcome.exit_code not in (0, 6, 7)}
    assert not crashed, crashed  # a bare Python error, never a typed refusal
    return found


def refused(outcome: Outcome, code: int, *named: str) -> None:
    """The month failed with `code`, named every text in its alert, and emailed no report."""
    assert outcome.exit_code == code, outcome.alert[:3000]
    for text in named:
        assert text in outcome.alert, f"{text!r} not in:\n{outcome.alert[:3000]}"
    assert not outcome.emailed
    assert not outcome.path("reports", "quality.json").exists()


def failed_checks(outcome: Outcome) -> dict:
    record = outcome.failed_gate
    assert record["month"] == outcome.month
    assert record["passed"] is False
    return {check["name"]: check for check in record["checks"] if check["status"] == "failed"}


def reported(outcome: Outcome, products: int, turnover: str) -> None:
    assert outcome.exit_code == 0, outcome.alert[:3000]
    assert outcome.emailed
    assert not outcome.path("work", "quality_failed.json").exists()
    assert (outcome.quality["products"], f"{outcome.quality['turnover_cents'] / 100:.2f}") == (products, turnover)


# ---------------------------------------------------------------------------------------------------------------
# One test a catalogue row (docs/quality-gate.md, "The fault catalogue").


def test_sku_linked_to_two_products_fails_the_gate_naming_both_liaison_rows(outcomes):
    outcome = outcomes["sku_linked_to_two_products"]
    refused(
        outcome, 7, "QualityGateError: ", "id_web 15298: liaison.xlsx row 2 product_id=3847; row 827 product_id=99001"
    )
    assert "links one-to-one: a web sku (id_web) linked to one product_id in liaison.xlsx" in failed_checks(outcome)


def test_product_linked_to_two_skus_fails_the_gate_naming_both_liaison_rows(outcomes):
    outcome = outcomes["product_linked_to_two_skus"]
    refused(outcome, 7, "product_id 3847: liaison.xlsx row 2 id_web=15298; row 827 id_web=99002")
    assert "links one-to-one: a product_id linked to one web sku (id_web) in liaison.xlsx" in failed_checks(outcome)


def test_empty_total_sales_fails_the_gate_naming_file_row_and_column(outcomes):
    outcome = outcomes["empty_total_sales"]
    refused(outcome, 7, "empty: web.xlsx row 524 column total_sales (product_id 3847)")
    assert "every product has a price and a total_sales" in failed_checks(outcome)


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("non_numeric_total_sales", "web.xlsx: column 'total_sales' breaks rule 'type('float64')': 'six' (row 524)"),
        (
            "negative_total_sales",
            "web.xlsx: column 'total_sales' breaks rule 'greater_than_or_equal_to(0)': -6.0 (row 524)",
        ),
        ("empty_price", "erp.xlsx: column 'price' breaks rule 'not empty': nan (row 2)"),
        ("non_numeric_price", "erp.xlsx: column 'price' breaks rule 'type('float64')': '24,20 €' (row 2)"),
        ("empty_erp_product_id", "erp.xlsx: column 'product_id' breaks rule 'not empty'"),
        ("empty_liaison_product_id", "liaison.xlsx: column 'product_id' breaks rule 'not empty'"),
    ],
)
def test_impossible_values_are_refused_at_staging_naming_file_column_row_and_rule(outcomes, fault, named):
    outcome = outcomes[fault]
    refused(outcome, 6, "InvalidInputError: ", named)
    assert not outcome.path("work", "products.parquet").exists()


@pytest.mark.parametrize(
    ("fault", "file", "row", "rule", "products", "turnover"),
    [
        ("empty_sku", "web.xlsx", 524, "sku must be present", PRODUCTS - 1, "70423.40"),
        ("empty_id_web", "liaison.xlsx", 195, "id_web must be present", PRODUCTS, TURNOVER),
        ("price_not_above_zero", "erp.xlsx", 21, "price must be above 0", PRODUCTS, TURNOVER),
        ("repeated_rows", "web.xlsx", 1515, "duplicate row", PRODUCTS, TURNOVER),
    ],
)
def test_rows_a_reference_rule_drops_are_in_rejected_rows(outcomes, fault, file, row, rule, products, turnover):
    outcome = outcomes[fault]
    reported(outcome, products, turnover)
    rejected = outcome.csv("rejected_rows.csv")
    assert {"source_file": file, "source_row": str(row), "rule": rule} in [
        {key: line[key] for key in ("source_file", "source_row", "rule")} for line in rejected
    ]


def test_conflicting_prices_fail_the_gate_naming_both_rows(outcomes):
    refused(outcomes["conflicting_prices"], 7, "product_id 3847: erp.xlsx row 2 price=24.2; row 827 price=26.5")


def test_conflicting_sales_fail_the_gate_naming_both_rows(outcomes):
    refused(outcomes["conflicting_sales"], 7, "sku 15298: web.xlsx row 524 total_sales=6.0; row 1515 total_sales=9.0")


def test_web_product_without_a_link_fails_the_gate(outcomes):
    refused(outcomes["web_product_not_linked"], 7, "sku on the web but not reconciled: 99003")


def test_a_sold_product_dropped_by_a_rule_fails_the_gate(outcomes):
    # Its ERP row is refused (price 0): the web product it sold as is left without its ERP product.
    refused(outcomes["linked_product_priced_zero"], 7, "sku on the web but not reconciled: 15298")


@pytest.mark.parametrize("fault", ["headers_only", "nothing_joins"])
def test_a_month_without_products_fails_instead_of_reporting_0_wines(outcomes, fault):
    outcome = outcomes[fault]
    refused(outcome, 7, "the month has products: observed 0")
    assert failed_checks(outcome)["the month has products"]["observed"] == 0


def test_equal_prices_give_no_premium_and_blank_z_scores(outcomes):
    outcome = outcomes["equal_prices"]
    assert outcome.exit_code == 0, outcome.alert[:3000]
    assert (outcome.quality["premium"], outcome.quality["ordinary"]) == (0, PRODUCTS)
    assert outcome.csv("premium_wines.csv") == []
    assert {row["price_zscore"] for row in outcome.csv("ordinary_wines.csv")} == {""}


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        (
            "unknown_post_type",
            "web.xlsx: column 'post_type' has a value outside its vocabulary (product, attachment): "
            "'product_variation' (row 2)",
        ),
        (
            "unknown_stock_status",
            "erp.xlsx: column 'stock_status' has a value outside its vocabulary (instock, outofstock, onbackorder): "
            "'backorder' (row 3)",
        ),
    ],
)
def test_a_value_outside_its_vocabulary_is_refused_at_staging_never_dropped(outcomes, fault, named):
    outcome = outcomes[fault]
    refused(outcome, 6, "InvalidInputError: ", named)
    assert not outcome.path("work", "rejected_rows.parquet").exists()


def test_case_and_surrounding_spaces_are_the_declared_values(outcomes):
    outcome = outcomes["case_and_spaces"]
    reported(outcome, PRODUCTS, TURNOVER)  # row 524, ' Product ', is the product of sku 15298
    rejected = {(row["source_file"], row["source_row"]) for row in outcome.csv("rejected_rows.csv")}
    assert ("web.xlsx", str(WEB_ROW_OF_LINKED_SKU)) not in rejected


def test_a_cut_web_export_is_held_by_its_join_losses_even_with_no_month_before(outcomes):
    outcome = outcomes["cut_web_without_history"]
    refused(
        outcome,
        7,
        "388 of the 734 linked liaison.xlsx rows (52.9 %) found no match in the join: held, above 40 %",
        "477 of the 823 clean erp.xlsx rows (58.0 %) found no match in the join: held, above 40 %",
    )
    assert set(failed_checks(outcome)) == {
        "erp.xlsx rows lost in the join within bounds",
        "liaison.xlsx rows lost in the join within bounds",
    }


def test_an_export_uploaded_again_is_held_naming_the_month_it_comes_from(outcomes):
    outcome = outcomes["stale_upload"]
    before = month_of(case_and_spaces)
    refused(
        outcome,
        7,
        f"web.xlsx is byte for byte the web.xlsx of {before} (sha256 ",
        f"erp.xlsx is byte for byte the erp.xlsx of {before} (sha256 ",
    )
    assert set(failed_checks(outcome)) == {
        "erp.xlsx a new export, not a file of the months before",
        "web.xlsx a new export, not a file of the months before",
    }  # liaison.xlsx, the same file too, is normal: links change only with the catalogue


HISTORY_KEYS = {"erp-rows", "web-rows", "liaison-rows", "products", "units", "turnover", "premium-share"}
HISTORY_KEYS |= {"erp-join-loss", "liaison-join-loss"}


def not_passed(outcome: Outcome) -> dict[str, str]:
    """The checks of a reported month that did not pass, by key, with their status."""
    return {check["key"]: check["status"] for check in outcome.quality["checks"] if check["status"] != "passed"}


def test_a_month_with_no_month_before_reports_and_says_history_had_nothing_to_compare_with(outcomes):
    outcome = outcomes["first_plausible_month"]
    assert outcome.exit_code == 0, outcome.alert[:3000]
    assert outcome.quality["compared_with"]["summary"] == (
        f"History checks had nothing to compare with: no month of the 12 before {outcome.month} has figures."
    )
    assert not HISTORY_KEYS & {check["key"] for check in outcome.quality["checks"]}


def test_a_cut_web_export_with_one_month_before_is_held_by_the_history_checks(outcomes):
    outcome = outcomes["cut_web_after_one_month"]
    before = month_of(FAULTS[1])
    refused(
        outcome,
        7,
        f"products against the months before: 346 products, against 710 in {before}, the only month before with "
        "figures: held, below 390",
        f"rows in web.xlsx against the months before: 700 rows in web.xlsx, against 1,505 in {before}",
    )
    assert {"products", "turnover", "web-rows"} <= {check["key"] for check in failed_checks(outcome).values()}


def test_the_real_month_after_six_plausible_months_raises_no_false_alarm(outcomes):
    outcome = outcomes["real_month"]
    reported(outcome, PRODUCTS, TURNOVER)
    assert (outcome.quality["premium"], outcome.quality["ordinary"]) == (30, 684)
    assert not_passed(outcome) == {"negative-stock": "warning"}  # the real month's own, as ever
    assert {check["key"] for check in outcome.quality["checks"]} >= HISTORY_KEYS
    six = FAULTS[FAULTS.index(real_month) - 6 : FAULTS.index(real_month)]
    assert [fault.__name__ for fault in six] == [f"plausible_{number}" for number in range(1, 7)]
    assert outcome.quality["compared_with"]["months"] == [month_of(fault) for fault in six]


def test_a_cut_web_export_after_six_plausible_months_is_held_naming_check_band_and_observed(outcomes):
    outcome = outcomes["cut_web_after_six_months"]
    refused(
        outcome,
        7,
        "products against the months before: 346 products, against 708 to 714 in the 6 months before "
        "(2020-01 to 2020-06)",
        "held, below 390 (their median is 710)",
        "a turnover of 26,804.30 €, against",
    )
    held = {check["key"] for check in failed_checks(outcome).values()}
    assert held == {"web-rows", "products", "units", "turnover", "erp-join-loss", "liaison-join-loss"} | {
        "erp-join-loss-limit",
        "liaison-join-loss-limit",
    }


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("cut_erp", "rows in erp.xlsx against the months before: 400 rows in erp.xlsx, against"),
        ("cut_liaison", "rows in liaison.xlsx against the months before: 400 rows in liaison.xlsx, against"),
        ("prices_in_cents", "turnover against the months before: a turnover of 7,056,860.00 €, against"),
    ],
)
def test_faults_a_month_cannot_show_alone_are_held_by_its_history(outcomes, fault, named):
    refused(outcomes[fault], 7, named)


def test_a_plausible_month_after_a_gap_skips_the_gap_never_counts_it_as_zero(outcomes):
    outcome = outcomes["plausible_after_a_gap"]
    assert outcome.exit_code == 0, outcome.alert[:3000]
    assert not_passed(outcome) == {"negative-stock": "warning"}
    gap_month = month_of(gap)
    assert {"month": gap_month, "reason": "no raw exports in the lake"} in outcome.quality["compared_with"]["skipped"]
    assert gap_month not in outcome.quality["compared_with"]["months"]
    assert f"{gap_month} (no raw exports in the lake)" in outcome.quality["compared_with"]["summary"]


def test_wine_by_wine_a_price_or_units_far_from_their_own_history_are_warnings(outcomes):
    cents = outcomes["prices_in_cents"]
    assert f"wines changed price by more than ×2 since {month_of(units_typed_in_hundreds)}: " in cents.alert
    typo = outcomes["units_typed_in_hundreds"]
    assert typo.exit_code == 0, typo.alert[:3000]
    assert not_passed(typo) == {"negative-stock": "warning", "units-jumps": "warning"}
    [jump] = [check for check in typo.quality["checks"] if check["key"] == "units-jumps"]
    assert " 600 units, at most " in jump["detail"]
    assert "(3847)" in jump["detail"]


def test_a_year_with_a_december_peak_holds_no_month(outcomes):
    season = [outcomes[f"season_{month:02d}"] for month in SEASON]
    assert [outcome.exit_code for outcome in season] == [0] * 12
    december = season[-1]
    assert december.quality["turnover"] > 2.5 * season[6].quality["turnover"]  # December against July
    assert not_passed(december).get("turnover") in (None, "warning")


def test_a_failed_gate_is_recorded_in_the_lake_and_alerted_as_a_table(outcomes):
    outcome = outcomes["sku_linked_to_two_products"]
    checks = outcome.failed_gate["checks"]
    assert len(checks) > 10
    assert {"name", "level", "status", "observed", "expected", "detail", "key", "kind"} <= set(checks[0])
    alert = outcome.alert
    assert "Every check of the gate:" in alert
    table = alert[alert.index("Every check of the gate:") :].splitlines()
    assert table[1].split() == ["status", "observed", "expected", "check"]
    assert "{" not in alert  # in words: no JSON
    assert "np." not in alert  # nor a numpy repr
    for check in checks:
        assert any(check["name"] in line and line.split()[0] == check["status"] for line in table), check["name"]


# ---------------------------------------------------------------------------------------------------------------
# Faults that need a run to stop half-way: each a month of its own.


def test_the_process_exits_with_the_code_of_its_failure(seed_month, tmp_path):
    exports = Exports(seed_month)
    sku_linked_to_two_products(exports)
    exports.write(tmp_path / "lake", "2020-08", {})
    result = run_month(tmp_path / "lake", tmp_path)
    assert result.returncode == 7, result.stderr[-3000:]
    assert "QualityGateError: 2020-08: quality gate failed, no report written" in result.stderr


def test_a_row_lost_between_tasks_fails_the_accounting(seed_month, tmp_path):
    lake = tmp_path / "lake"
    copy_month(seed_month, lake)
    assert run_month(lake, tmp_path, task="ReconciledProducts").returncode == 0
    from bottleneck.tables import parquet_bytes, table_from_parquet

    rejected = lake / "work/2020/08/rejected_rows.parquet"
    rows = table_from_parquet(rejected.read_bytes())
    rejected.write_bytes(parquet_bytes(rows[rows["source_row"] != 3]))  # a row dropped without a record
    result = run_month(lake, tmp_path)
    assert result.returncode == 7
    accounting = json.loads((lake / "work/2020/08/quality_failed.json").read_text())["checks"][1]
    assert accounting["status"] == "failed"
    assert "rows neither kept nor rejected: 3" in accounting["detail"]


def test_deliverables_that_disagree_stop_the_email_until_they_agree(seed_month, tmp_path):
    lake = tmp_path / "lake"
    copy_month(seed_month, lake)
    assert run_month(lake, tmp_path, task="MonthReport").returncode == 0
    premium = lake / "reports/2020/08/premium_wines.csv"
    whole = premium.read_bytes()
    lines = whole.split(b"\r\n")
    sold = next(line for line in lines[1:] if line and next(csv.reader([line.decode()]))[5] != "0.00")
    premium.write_bytes(b"\r\n".join(line for line in lines if line != sold))  # a wine that sold, cut off
    result = run_month(lake, tmp_path)
    assert result.returncode == 7, result.stderr[-3000:]
    assert "premium_wines.csv rows = quality.json premium: observed 29, expected 30" in result.stderr
    assert not (lake / "reports/2020/08/email.eml").exists()
    failed = json.loads((lake / "work/2020/08/quality_failed.json").read_text())
    assert [check["name"] for check in failed["checks"] if check["status"] == "failed"] == [
        "premium_wines.csv rows = quality.json premium",
        "distinct product_id of the CSVs = quality.json products",
        "revenue summed over the CSVs = quality.json turnover",
    ]
    premium.unlink()  # MonthReport writes its files again, whole
    again = run_month(lake, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert premium.read_bytes() == whole
    assert (lake / "reports/2020/08/email.eml").exists()
    assert not (lake / "work/2020/08/quality_failed.json").exists()
