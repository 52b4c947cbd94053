"""The deliverables read back: CSVs, workbook and quality.json agree, and each disagreement is named."""

import json

from bottleneck import quality
from bottleneck.classify import classified_wines
from bottleneck.compare import changes, comparison, month_figures
from bottleneck.csv_writer import rejected_csv, wines_csv
from bottleneck.deliverables import deliverable_checks
from bottleneck.reconcile import reconciled
from bottleneck.reference import reference
from bottleneck.workbook import report_workbook
from tests import frames


def month_files(**record_changes) -> dict[str, bytes]:
    staged = {
        "erp": frames.erp((1, 10.0), (2, 150.25), (3, -1.0)),
        "web": frames.web(("101", 3), ("102", 2)),
        "liaison": frames.liaison((1, "101"), (2, "102")),
    }
    result = reconciled(staged)
    wines = classified_wines(result.products, 0.5)
    checks = quality.gate(staged, wines, result.rejected_rows, result.turnover, reference(staged), 0.5)
    record = {
        **quality.quality_record("2020-08", wines, result.turnover, checks, {}, result.funnel),
        **comparison(month_figures("2020-08", wines), []),
    }
    workbook = report_workbook(record, wines, result.rejected_rows, changes(wines, None), None, 0.5)
    record.update(record_changes)
    return {
        "report.xlsx": workbook,
        "premium_wines.csv": wines_csv(wines[wines["category"] == "premium"]),
        "ordinary_wines.csv": wines_csv(wines[wines["category"] == "ordinary"]),
        "rejected_rows.csv": rejected_csv(result.rejected_rows),
        "quality.json": json.dumps(record).encode(),
    }


def failed(files) -> dict:
    return {check.name: check for check in deliverable_checks(files) if not check.passed}


def test_deliverables_of_one_month_agree():
    checks = deliverable_checks(month_files())
    assert all(check.passed for check in checks)
    assert len(checks) == 8
    assert {check.name: check.observed for check in checks}["revenue summed over the CSVs = quality.json turnover"] == (
        "330.50"
    )


def test_a_turnover_a_cent_off_is_caught_in_every_deliverable():
    assert set(failed(month_files(turnover_cents=33049, turnover=330.49))) == {
        "revenue summed over the CSVs = quality.json turnover",
        "report.xlsx Summary turnover = quality.json turnover",
    }


def test_counts_that_disagree_are_caught():
    problems = failed(month_files(premium=0, ordinary=2))
    assert set(problems) == {
        "premium_wines.csv rows = quality.json premium",
        "ordinary_wines.csv rows = quality.json ordinary",
        "report.xlsx Summary: products, premium, ordinary = quality.json",
    }
    assert problems["premium_wines.csv rows = quality.json premium"].observed == 1


def test_quality_json_that_disagrees_with_itself_is_caught():
    assert set(failed(month_files(turnover=330.4))) == {"quality.json turnover = its turnover_cents"}


def test_rejected_rows_that_disagree_with_the_funnel_are_caught():
    files = month_files()
    files["rejected_rows.csv"] = b"\r\n".join(files["rejected_rows.csv"].split(b"\r\n")[:-2]) + b"\r\n"
    check = failed(files)["rejected_rows.csv rows = rows the quality.json funnel dropped"]
    assert (check.observed, check.expected) == (0, 1)


def test_a_csv_row_that_is_not_as_wide_as_its_header_fails_the_check_naming_file_and_row():
    files = month_files()
    lines = files["ordinary_wines.csv"].split(b"\r\n")
    lines[1] = lines[1].rpartition(b",")[0]
    files["ordinary_wines.csv"] = b"\r\n".join(lines)
    (check,) = deliverable_checks(files)
    assert not check.passed
    assert check.observed == "ordinary_wines.csv: row 2 has 8 fields, the header 9"
