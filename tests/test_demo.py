"""The demo: a synthetic month with every quirk of the real exports, run end to end."""

import csv
import email
import io
import json

from tests.months import run


def test_the_demo_month_has_every_quirk_and_runs_end_to_end(tmp_path):
    lake = tmp_path / "lake"
    result = run(["--lake", str(lake)], lake, tmp_path, command="bottleneck-demo")
    assert result.returncode == 0, result.stderr
    reports = lake / "reports" / "2020" / "08"
    assert f"Report of 2020-08: {reports / 'report.xlsx'}" in result.stdout
    quality = json.loads((reports / "quality.json").read_text())
    assert quality["passed"]
    assert quality["products"] > 600
    assert quality["premium"] > 0
    rules = {
        (row["source_file"], row["rule"])
        for row in csv.DictReader(io.StringIO((reports / "rejected_rows.csv").read_text()))
    }
    assert {
        ("erp.xlsx", "price must be above 0"),
        ("erp.xlsx", "duplicate row"),
        ("web.xlsx", "post_type must be 'product'"),
        ("web.xlsx", "sku must be present"),
        ("web.xlsx", "duplicate row"),
        ("liaison.xlsx", "id_web must be present"),
    } <= rules
    message = email.message_from_bytes((reports / "email.eml").read_bytes())
    assert message["To"] == "product-managers@bottleneck.example"
    assert [part.get_filename() for part in message.walk() if part.get_filename()] == [
        "report.xlsx",
        "premium_wines.csv",
        "ordinary_wines.csv",
        "changes.csv",
    ]


def test_a_second_demo_runs_the_month_already_in_the_lake(tmp_path):
    lake = tmp_path / "lake"
    assert run(["--lake", str(lake)], lake, tmp_path, command="bottleneck-demo").returncode == 0
    again = run(["--lake", str(lake)], lake, tmp_path, command="bottleneck-demo")
    assert again.returncode == 0
    assert "already in" in again.stdout
