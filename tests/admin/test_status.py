"""bottleneck-admin status: each month's state read from the lake alone, on local and S3 lakes."""

import datetime as dt
import json
import socket

from bottleneck import running
from bottleneck.admin import status as admin_status
from tests.admin.commands import AUGUST, ERP_ROW, admin_command
from tests.months import copy_month, raw_folder, run_month, write_tiny_month


def test_status_names_a_done_a_failed_and_a_missing_month_and_exits_1(seed_month, lake, tmp_path):
    copy_month(seed_month, lake, "2020-08")
    assert run_month(lake, tmp_path, "2020-08").returncode == 0
    # 2020-09: two prices for one product, so the quality gate stops it; 2020-10: no export at all.
    write_tiny_month(
        lake, [ERP_ROW, [1, 1, 12.0, 5, "instock"]], [["101", 3, "product", "A"]], [[1, "101"]], month="2020-09"
    )
    assert run_month(lake, tmp_path, "2020-09").returncode == 7
    raw_folder(lake, "2020-11")
    (raw_folder(lake, "2020-11") / "erp.xlsx").write_bytes(b"x")

    result = admin_command(["status"], lake, tmp_path)
    assert result.returncode == 1, result.stderr
    lines = {line[:7]: line for line in result.stdout.splitlines()}
    assert list(lines) == ["2020-08", "2020-09", "2020-10", "2020-11"], "from the lake's first month to its last"
    assert "done" in lines["2020-08"]
    assert "sha256 recorded: erp,web,liaison" in lines["2020-08"]
    assert "gate passed" in lines["2020-08"]
    assert "report written" in lines["2020-08"]
    assert "email written to the lake, not sent (delivery = lake)" in lines["2020-08"]
    assert "last alert -" in lines["2020-08"]
    assert "failed" in lines["2020-09"]
    assert "report -" in lines["2020-09"]
    assert "email -" in lines["2020-09"]
    assert "last alert" in lines["2020-09"]
    assert "QualityReport(month=2020-09)" in lines["2020-09"]
    assert "missing" in lines["2020-10"]
    assert "raw none" in lines["2020-10"]
    assert "missing" in lines["2020-11"]
    assert "raw erp (sha256 not recorded)" in lines["2020-11"]
    assert "3 month(s) neither done nor running: 2020-09, 2020-10, 2020-11" in result.stderr

    machine = admin_command(["status", "--json", "--from", "2020-08", "--to", "2020-09"], lake, tmp_path)
    statuses = json.loads(machine.stdout)
    assert [(s["month"], s["state"]) for s in statuses] == [("2020-08", "done"), ("2020-09", "failed")]
    assert statuses[0]["email"]["transport"] == "eml"
    assert statuses[0]["email"]["at"]
    assert "QualityGateError" in statuses[1]["last_alert"]["error"]
    assert admin_command(["status", "--to", "2020-08"], lake, tmp_path).returncode == 0


def test_status_shows_the_failing_check_of_a_failed_gate(lake):
    # The record the quality gate leaves when it stops a month (work/YYYY/MM/quality_failed.json).
    failed = lake / "work" / "2020" / "08" / "quality_failed.json"
    failed.parent.mkdir(parents=True)
    failed.write_text(
        json.dumps(
            {
                "month": "2020-08",
                "passed": False,
                "checks": [
                    {
                        "name": "product_id unique",
                        "level": "error",
                        "status": "failed",
                        "observed": 2,
                        "expected": 0,
                        "detail": "product_id 15298 twice",
                    },
                    {"name": "negative stock", "level": "warning", "status": "passed", "observed": 0, "expected": 0},
                ],
            }
        )
    )
    status = admin_status.month_status(AUGUST)
    assert status["state"] == "failed"
    assert status["gate"] == {
        "status": "failed",
        "failed": ["product_id unique: observed 2, expected 0 (product_id 15298 twice)"],
    }
    assert "gate FAILED: product_id unique: observed 2, expected 0" in admin_status.status_line(status)


def test_a_month_whose_figures_a_later_month_made_is_still_waiting(lake):
    from bottleneck.tasks import MonthFigures

    write_tiny_month(lake, [ERP_ROW], [["101", 3, "product", "A"]], [[1, "101"]])
    MonthFigures(month=AUGUST).run()  # what the report of 2020-09 does to compare itself with 2020-08
    assert (lake / "work" / "2020" / "08" / "figures.json").exists()
    assert admin_status.month_status(AUGUST)["state"] == "waiting", "the month itself never ran"


def test_a_month_with_a_live_run_is_running_and_one_whose_run_died_is_not(lake, live_process):
    write_tiny_month(lake, [ERP_ROW], [["101", 3, "product", "A"]], [[1, "101"]])
    assert admin_status.month_status(AUGUST)["state"] == "waiting"
    running.mark(AUGUST, {"host": socket.gethostname(), "pid": live_process.pid}, "StagedErp(month=2020-08)")
    status = admin_status.month_status(AUGUST)
    assert status["state"] == "running"
    assert status["runs"] == [f"{socket.gethostname()}:{live_process.pid}"]
    live_process.kill()
    live_process.wait()
    assert admin_status.month_status(AUGUST)["state"] == "waiting", "a marker of a dead process is no run"
    # On another machine: alive while refreshed, stale after an hour.
    running.mark(AUGUST, {"host": "elsewhere", "pid": 1}, "StagedErp(month=2020-08)")
    now = dt.datetime.now(dt.UTC)
    assert admin_status.month_status(AUGUST, now)["state"] == "running"
    assert admin_status.month_status(AUGUST, now + dt.timedelta(hours=2))["state"] == "waiting"


def test_a_run_leaves_no_marker_once_it_ended(seed_month, lake, tmp_path):
    copy_month(seed_month, lake)
    assert run_month(lake, tmp_path).returncode == 0
    assert sorted(path.name for path in (lake / "locks" / "2020" / "08").iterdir()) == ["email.lock"]


def test_a_month_that_ended_is_no_longer_running_while_its_process_goes_on(lake):
    import luigi

    from bottleneck.demo import synthetic_month
    from bottleneck.tasks import RunMonth

    for source, data in synthetic_month(AUGUST, products=120, seed=5).items():
        (raw_folder(lake) / f"{source}.xlsx").write_bytes(data)
    seen = []
    watching = True

    def record(task):
        if watching:
            seen.append(admin_status.month_status(AUGUST)["state"])

    luigi.Task.event_handler(luigi.Event.START)(record)
    try:
        assert luigi.build([RunMonth(month=AUGUST)], local_scheduler=True)
    finally:
        watching = False  # Luigi has no public way to remove a handler: this one falls silent
    assert "running" in seen[1:], "a task of the month was running: the month was"
    assert admin_status.month_status(AUGUST)["state"] == "done", "the month ended, this process (a backfill's) goes on"


def test_status_of_a_lake_that_cannot_be_read_exits_9_naming_it(tmp_path, s3_server):
    result = admin_command(["status"], "s3://no-such-bucket/lake", tmp_path, s3_server.env())
    assert result.returncode == 9, result.stderr
    assert "bottleneck-admin status: lake s3://no-such-bucket/lake unusable: " in result.stderr
    assert "NoSuchBucket" in result.stderr
    assert "Traceback" not in result.stderr
