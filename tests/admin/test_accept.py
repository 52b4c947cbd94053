"""bottleneck-admin accept: a held month released on purpose, shown as accepted with its reason in every output."""

import email
import email.policy
import json
import re

import openpyxl
import pytest

from bottleneck import layout
from bottleneck.admin import accept
from tests.admin.commands import AUGUST, admin_command
from tests.months import copy_month, rewritten_month, run_month


def gate_record(*checks):
    return {"month": "2020-08", "passed": False, "checks": list(checks)}


def check(key, status="failed", kind="plausibility", observed="346"):
    return {
        "key": key,
        "name": f"{key} check",
        "status": status,
        "kind": kind,
        "observed": observed,
        "expected": "531 to 1,417",
        "detail": f"{observed}: held",
    }


def write(lake, dataset, record):
    path = lake / layout.LAYOUT[dataset].format(yyyy="2020", mm="08")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def held_month(lake, *checks):
    write(lake, "quality_failed", gate_record(*checks))
    write(lake, "raw_manifest", {source: {"sha256": f"{source}-sha"} for source in layout.SOURCES})


def released_records(lake):
    folder = lake / "accepted/2020/08"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))] if folder.exists() else []


def test_each_check_released_is_recorded_with_who_when_why_what_it_observed_and_the_exports(lake):
    held_month(lake, check("products"), check("turnover", observed="26,804.30 €"), check("stale-web", "passed"))
    said = []
    assert accept.accept(AUGUST, ["products", "turnover", "products"], "closing-down sale", said.append) == 0
    records = released_records(lake)
    assert [record["check"] for record in records] == ["products", "turnover"]
    assert records[1]["observed"] == "26,804.30 €"
    assert records[0]["reason"] == "closing-down sale"
    assert "@" in records[0]["by"]
    assert records[0]["raw_sha256"] == {"erp": "erp-sha", "web": "web-sha", "liaison": "liaison-sha"}
    assert said[-1] == "2020-08: run the month again to report it: bottleneck-run RunMonth --month 2020-08"


def test_a_consistency_check_is_refused_and_nothing_is_released(lake):
    held_month(lake, check("products"), check("rows-accounted-for", kind="consistency"))
    with pytest.raises(accept.ReleaseRefusedError) as refusal:
        accept.accept(AUGUST, ["products", "rows-accounted-for"], "closing-down sale", print)
    assert refusal.value.exit_code == 2
    message = str(refusal.value)
    assert message.startswith("2020-08: nothing released: 'rows-accounted-for' (rows-accounted-for check) checks")
    assert "the month's own consistency: it is never released" in message
    assert "bottleneck-admin reprocess --month 2020-08 --reason TEXT" in message
    assert released_records(lake) == []


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("product", "'product' is not a check of 2020-08 (the checks that hold it: products)"),
        ("units", "'units' (units check) does not hold 2020-08: its status is warning"),
    ],
)
def test_an_unknown_key_or_a_check_that_did_not_hold_the_month_is_refused(lake, key, said):
    held_month(lake, check("products"), check("units", status="warning"))
    with pytest.raises(accept.ReleaseRefusedError, match=re.escape(said)):
        accept.accept(AUGUST, [key], "why", print)
    assert released_records(lake) == []


def test_a_month_not_held_has_nothing_to_release(lake):
    said = "2020-08 is not held by its gate: run it first: bottleneck-run RunMonth --month 2020-08"
    with pytest.raises(accept.ReleaseRefusedError, match=re.escape(said)):
        accept.accept(AUGUST, ["products"], "why", print)


def test_a_cut_export_held_then_released_reports_each_released_check_as_accepted_with_its_reason(
    seed_month, lake, tmp_path
):
    copy_month(seed_month, lake, "2020-07")
    rewritten_month(seed_month, lake, "2020-08", cut={"web": 700})
    first = run_month(lake, tmp_path)
    assert first.returncode == 7, first.stderr[-3000:]
    assert "346 products, against 714 in 2020-07, the only month before with figures: held, below 393" in first.stderr
    held = [
        c
        for c in json.loads((lake / "work/2020/08/quality_failed.json").read_text())["checks"]
        if c["status"] == "failed"
    ]
    keys = [c["key"] for c in held]
    assert {"products", "turnover", "web-rows", "liaison-join-loss-limit"} <= set(keys)
    [alert] = (lake / "alerts/2020/08").glob("*-alert.eml")
    alert_text = (
        email.message_from_bytes(alert.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
    )
    assert "bottleneck-admin accept --month 2020-08 " + " ".join(f"--check {key}" for key in keys) in alert_text
    assert "bottleneck-admin reprocess --month 2020-08 --reason TEXT" in alert_text

    refused = admin_command(
        ["accept", "--month", "2020-08", "--check", "rows-accounted-for", "--reason", "x"], lake, tmp_path
    )
    assert refused.returncode == 2
    assert "checks the month's own consistency: it is never released" in refused.stderr
    assert not (lake / "accepted").exists()

    reason = "the web shop was closed from the 15th: half the catalogue off sale"
    released = admin_command(
        ["accept", "--month", "2020-08", *(arg for key in keys for arg in ("--check", key)), "--reason", reason],
        lake,
        tmp_path,
    )
    assert released.returncode == 0, released.stderr
    assert "run the month again to report it" in released.stdout
    again = run_month(lake, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]

    quality = json.loads((lake / "reports/2020/08/quality.json").read_text())
    accepted = {c["key"]: c for c in quality["checks"] if c["status"] == "accepted"}
    assert set(accepted) == set(keys)
    assert {c["accepted"]["reason"] for c in accepted.values()} == {reason}
    assert quality["products"] == 346
    message = email.message_from_bytes((lake / "reports/2020/08/email.eml").read_bytes(), policy=email.policy.default)
    assert f"({len(keys)} accepted, 1 warning)" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "accepted by an operator" in text
    assert (
        "346 products, against 714 in 2020-07, the only month before with figures: held, below 393; accepted by "
        in text
    )
    assert f": '{reason}'" in text
    summary = [
        cell
        for row in openpyxl.load_workbook(lake / "reports/2020/08/report.xlsx")["Summary"].iter_rows(values_only=True)
        for cell in row
        if isinstance(cell, str)
    ]
    assert any(cell.startswith("346 products, against 714") and reason in cell for cell in summary)
    assert any("accepted by an operator" in cell for cell in summary)
