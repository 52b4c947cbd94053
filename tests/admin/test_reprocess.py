"""bottleneck-admin reprocess: a month run again on purpose, killed at any point and resumed, local and S3."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bottleneck import running
from bottleneck.layout import SOURCES
from tests.admin.commands import AUGUST, REPORT_FILES, admin_command, corrected_erp
from tests.conftest import REPO
from tests.months import copy_month, files_under, raw_folder, run_month, user_environment
from tests.scheduler.runs import runs_in_log


def test_reprocess_refuses_without_a_reason_and_while_the_month_runs(seed_month, lake, tmp_path, live_process):
    copy_month(seed_month, lake)
    assert run_month(lake, tmp_path).returncode == 0
    before = files_under(lake)
    missing = admin_command(["reprocess", "--month", "2020-08"], lake, tmp_path)
    assert missing.returncode == 2
    assert "--reason" in missing.stderr
    blank = admin_command(["reprocess", "--month", "2020-08", "--reason", "  "], lake, tmp_path)
    assert blank.returncode == 2
    assert "--reason must say why" in blank.stderr
    running.mark(AUGUST, {"host": socket.gethostname(), "pid": live_process.pid}, "StagedErp(month=2020-08)")
    busy = admin_command(["reprocess", "--month", "2020-08", "--reason", "corrected ERP"], lake, tmp_path)
    assert busy.returncode == 1, busy.stderr
    assert f"2020-08 is being run by {socket.gethostname()}:{live_process.pid} (StagedErp(month=2020-08)" in busy.stderr

    def outputs(files):
        return {k: v for k, v in files.items() if not k.startswith("locks/")}

    assert outputs(files_under(lake)) == outputs(before), "nothing moved, nothing cleared"


def reprocessed_on_purpose(read, write, admin_run, month_run):
    """The issue's story on any lake: done month, ERP corrected, refused, re-processed, re-reported."""
    old_report = {name: read(f"reports/2020/08/{name}") for name in REPORT_FILES - {"email.eml"}}
    write("raw/2020/08/erp.xlsx", corrected_erp(read("raw/2020/08/erp.xlsx")))
    refused = month_run()
    assert refused.returncode == 6, refused.stderr[-3000:]
    assert "raw export replaced after the month was processed" in refused.stderr
    result = admin_run(["reprocess", "--month", "2020-08", "--reason", "ERP export corrected (prices)"])
    assert result.returncode == 0, result.stderr[-3000:]
    return old_report, result


def check_reprocessed(old_report, listing, read):
    stamps = {path.split("/")[2] for path in listing("superseded/")}
    assert len(stamps) == 1, stamps
    stamp = stamps.pop()
    for name, data in old_report.items():
        assert read(f"superseded/2020-08/{stamp}/{name}") == data, f"{name} not kept as it was"
    record = json.loads(read(f"superseded/2020-08/{stamp}/reprocess.json"))
    new_quality = json.loads(read("reports/2020/08/quality.json"))
    old_quality = json.loads(old_report["quality.json"])
    assert record["reasons"] == ["ERP export corrected (prices)"]
    assert record["old_raw_sha256"] == {s: old_quality["raw_files"][s]["sha256"] for s in SOURCES}
    assert record["new_raw_sha256"] == {s: new_quality["raw_files"][s]["sha256"] for s in SOURCES}
    assert record["old_raw_sha256"]["erp"] != record["new_raw_sha256"]["erp"]
    assert record["old_raw_sha256"]["web"] == record["new_raw_sha256"]["web"]
    assert record["finished_at"]
    assert record["new_report"]["products"] == new_quality["products"]
    assert new_quality["turnover"] != old_quality["turnover"], "the corrected export was not used"
    assert json.loads(read("reports/2020/08/email.json"))["sent_at"] >= record["requested_at"]
    return record


def test_reprocess_after_a_corrected_erp_export_on_a_local_lake(seed_month, lake, tmp_path):
    copy_month(seed_month, lake)
    assert run_month(lake, tmp_path).returncode == 0

    def read(relative):
        return (lake / relative).read_bytes()

    def write(relative, data):
        (lake / relative).write_bytes(data)

    old, result = reprocessed_on_purpose(
        read, write, lambda args: admin_command(args, lake, tmp_path), lambda: run_month(lake, tmp_path)
    )
    check_reprocessed(
        old, lambda prefix: [str(p.relative_to(lake)) for p in (lake / prefix).rglob("*") if p.is_file()], read
    )
    assert "former reports moved to" in result.stdout
    assert run_month(lake, tmp_path).returncode == 0, "the re-processed month is done"
    assert admin_command(["status"], lake, tmp_path).returncode == 0


def test_reprocess_after_a_corrected_erp_export_on_s3_mails_the_readers_the_new_report(
    seed_month, tmp_path, s3_server, smtp_server, pushgateway
):
    client = s3_server.client()
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/lake"

    def read(relative):
        return client.get_object(Bucket=bucket, Key=f"lake/{relative}")["Body"].read()

    def write(relative, data):
        client.put_object(Bucket=bucket, Key=f"lake/{relative}", Body=data)

    def listing(prefix):
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"lake/{prefix}")
        return [item["Key"][len("lake/") :] for page in pages for item in page.get("Contents", [])]

    for source in ("erp", "web", "liaison"):
        write(f"raw/2020/08/{source}.xlsx", (seed_month / f"{source}.xlsx").read_bytes())
    smtp = smtp_server.get("plain")
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text(
        "[smtp]\n"
        + "".join(f"{k} = {v}\n" for k, v in smtp.smtp_options().items())
        + "[email]\nsender = reports@bottleneck.test\nreceiver = readers@bottleneck.test\n"
        + "[bottleneck]\nalert_receivers = operators@bottleneck.test\nretry_seconds = 5\n"
        + f"pushgateway = {pushgateway.url}\n"
    )
    env = {**s3_server.env(), "LUIGI_CONFIG_PATH": str(cfg)}
    assert run_month(url, tmp_path, env=env).returncode == 0
    first_success = pushgateway.samples()[("bottleneck_last_success_timestamp_seconds", "2020-08")]
    old, _ = reprocessed_on_purpose(
        read, write, lambda args: admin_command(args, url, tmp_path, env), lambda: run_month(url, tmp_path, env=env)
    )
    check_reprocessed(old, listing, read)
    to_readers = [
        message for message, envelope in smtp.received() if envelope["rcpt_tos"] == ["readers@bottleneck.test"]
    ]
    assert len(to_readers) == 2, "the readers get the first report and the re-processed one, once each"
    new_quality = json.loads(read("reports/2020/08/quality.json"))
    attached = {part.get_filename(): part.get_payload(decode=True) for part in to_readers[1].iter_attachments()}
    assert attached["report.xlsx"] == read("reports/2020/08/report.xlsx"), "the readers got the new report"
    assert f"{float(new_quality['turnover']):,.2f}" in to_readers[1].get_body(("plain",)).get_content()
    pushed = pushgateway.samples()
    assert pushed[("bottleneck_month_turnover", "2020-08")] == float(new_quality["turnover"])
    assert pushed[("bottleneck_last_success_timestamp_seconds", "2020-08")] > first_success
    assert pushed[("bottleneck_run_success", "2020-08")] == 1, "the refused run's failure was followed by a success"
    status = json.loads(admin_command(["status", "--json"], url, tmp_path, env).stdout)
    assert [(s["month"], s["state"]) for s in status] == [("2020-08", "done")]
    assert status[0]["email"]["to"] == ["readers@bottleneck.test"]


def test_reprocess_killed_at_any_point_and_run_again_ends_as_an_uninterrupted_one(lake, tmp_path):
    from bottleneck.demo import synthetic_month

    for source, data in synthetic_month(AUGUST, products=120, seed=3).items():
        (raw_folder(lake) / f"{source}.xlsx").write_bytes(data)
    assert run_month(lake, tmp_path).returncode == 0
    erp = raw_folder(lake) / "erp.xlsx"
    erp.write_bytes(corrected_erp(erp.read_bytes()))
    prepared = tmp_path / "prepared"
    shutil.copytree(lake, prepared)
    old_report = {path.name: path.read_bytes() for path in (lake / "reports" / "2020" / "08").iterdir()}
    command = [
        sys.executable,
        str(REPO / "tests" / "kill_admin.py"),
        "reprocess",
        "--month",
        "2020-08",
        "--reason",
        "ERP corrected",
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BOTTLENECK_", "LUIGI_"))}
    env.update(BOTTLENECK_LAKE=str(lake), LUIGI_CONFIG_PATH=str(tmp_path / "absent.cfg"), PYTHONPATH=str(REPO))
    whole = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr[-3000:]
    changes = int(whole.stderr.rsplit("lake changes: ", 1)[1].split()[0])
    expected = {
        name: (lake / "reports" / "2020" / "08" / name).read_bytes()
        for name in REPORT_FILES - {"email.eml", "email.json"}
    }
    # Kill points spread over setting the reports aside, clearing, and the month's run.
    points = sorted({1, 2, 3, 5, 8, 11, 14, changes // 2, changes - 3, changes - 1})
    for point in points:
        shutil.rmtree(lake)
        shutil.copytree(prepared, lake)
        killed = subprocess.run(
            command, env={**env, "KILL_AFTER": str(point)}, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert killed.returncode == -9, (point, killed.stderr[-2000:])
        again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, (point, again.stderr[-3000:])
        folders = list((lake / "superseded" / "2020-08").iterdir())
        assert len(folders) == 1, (point, folders)
        kept = {path.name: path.read_bytes() for path in folders[0].iterdir() if path.name != "reprocess.json"}
        assert kept == old_report, f"killed after {point} changes: the former report was not kept whole"
        record = json.loads((folders[0] / "reprocess.json").read_text())
        assert record["finished_at"], point
        assert record["reasons"] == ["ERP corrected"], point
        for name, data in expected.items():
            now = (lake / "reports" / "2020" / "08" / name).read_bytes()
            if name.endswith(".csv") or name == "quality.json":
                assert now == data, f"killed after {point} changes: {name} differs from an uninterrupted reprocess"
        assert (lake / "reports" / "2020" / "08" / "email.json").exists()


@pytest.mark.parametrize("point", [5, 19], ids=["copying-the-reports", "clearing-staging-and-work"])
def test_reprocess_killed_on_s3_and_run_again_keeps_the_former_report_whole(point, tmp_path, s3_server):
    from bottleneck.demo import synthetic_month

    client = s3_server.client()
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/lake"
    for source, data in synthetic_month(AUGUST, products=120, seed=3).items():
        client.put_object(Bucket=bucket, Key=f"lake/raw/2020/08/{source}.xlsx", Body=data)
    assert run_month(url, tmp_path, env=s3_server.env()).returncode == 0

    def read(key):
        return client.get_object(Bucket=bucket, Key=f"lake/{key}")["Body"].read()

    old_report = {name: read(f"reports/2020/08/{name}") for name in REPORT_FILES}
    client.put_object(Bucket=bucket, Key="lake/raw/2020/08/erp.xlsx", Body=corrected_erp(read("raw/2020/08/erp.xlsx")))
    command = [
        sys.executable,
        str(REPO / "tests" / "kill_admin.py"),
        "reprocess",
        "--month",
        "2020-08",
        "--reason",
        "ERP corrected",
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BOTTLENECK_", "LUIGI_", "AWS_"))}
    env.update(
        s3_server.env(), BOTTLENECK_LAKE=url, LUIGI_CONFIG_PATH=str(tmp_path / "absent.cfg"), PYTHONPATH=str(REPO)
    )
    killed = subprocess.run(
        command, env={**env, "KILL_AFTER": str(point)}, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    # Meanwhile, the scheduled run: refused, since the manifest (cleared last) still holds the old sha256.
    refused = run_month(url, tmp_path, env=s3_server.env())
    assert refused.returncode == 6, refused.stderr[-2000:]
    again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "carrying on with the re-processing begun at" in again.stdout
    keys = [
        item["Key"][len("lake/") :]
        for item in client.list_objects_v2(Bucket=bucket, Prefix="lake/superseded/").get("Contents", [])
    ]
    stamps = {key.split("/")[2] for key in keys}
    assert len(stamps) == 1, keys
    stamp = stamps.pop()
    assert {name: read(f"superseded/2020-08/{stamp}/{name}") for name in REPORT_FILES} == old_report
    record = json.loads(read(f"superseded/2020-08/{stamp}/reprocess.json"))
    assert record["finished_at"]
    corrected = hashlib.sha256(read("raw/2020/08/erp.xlsx")).hexdigest()
    assert json.loads(read("reports/2020/08/quality.json"))["raw_files"]["erp"]["sha256"] == corrected
    assert record["new_raw_sha256"]["erp"] == corrected != record["old_raw_sha256"]["erp"]


# ------------------------------------------------------------------ runs and re-processing keep each other out

HARNESS = REPO / "tests" / "exclusion_harness.py"


def small_month(lake) -> None:
    from bottleneck.demo import synthetic_month

    for source, data in synthetic_month(AUGUST, products=120, seed=11).items():
        (raw_folder(lake) / f"{source}.xlsx").write_bytes(data)


def watched(role: str, args: list[str], lake, cwd, **env: str) -> subprocess.Popen:
    """`bottleneck-run` (role run) or `bottleneck-admin` (role admin) under tests/exclusion_harness.py."""
    return subprocess.Popen(
        [sys.executable, str(HARNESS), role, *args],
        cwd=cwd,
        env=user_environment(lake, cwd, {"PYTHONPATH": str(REPO), **env}),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def held(role: str, args: list[str], lake, cwd) -> tuple[subprocess.Popen, Path]:
    """The side started under the harness and held after the first of its two steps; touching the file
    returned lets it go on."""
    pause = cwd / "pause"
    pause.mkdir()
    process = watched(role, args, lake, cwd, PAUSE_DIR=str(pause))
    deadline = time.monotonic() + 120
    while not (pause / "paused").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "never paused"
        time.sleep(0.05)
    return process, pause / "go"


RUN = ["RunMonth", "--month", "2020-08", "--local-scheduler"]
REPROCESS = ["reprocess", "--month", "2020-08", "--reason", "ERP export corrected"]


def test_a_run_that_starts_while_reprocess_holds_the_month_stops_before_any_task(lake, tmp_path):
    small_month(lake)
    reprocess, go = held("admin", REPROCESS, lake, tmp_path)  # the lock taken, no run looked for yet
    refused = run_month(lake, tmp_path)
    assert refused.returncode == 1, refused.stderr[-3000:]
    assert f"2020-08 is being re-processed by {socket.gethostname()}:{reprocess.pid} since" in refused.stderr
    assert not runs_in_log(refused.stderr), "a task of the month ran"
    assert not (lake / "staging").exists()
    go.touch()
    out, err = reprocess.communicate(timeout=300)
    assert reprocess.returncode == 0, err[-3000:]
    assert "staging and work cleared; running the month" in out
    assert (lake / "reports/2020/08/email.json").exists()


def test_a_reprocess_that_starts_while_a_run_has_claimed_the_month_is_refused(lake, tmp_path):
    small_month(lake)
    month_run, go = held("run", RUN, lake, tmp_path)  # its marker written, the reprocess lock not looked at yet
    refused = admin_command(REPROCESS, lake, tmp_path)
    assert refused.returncode == 1, refused.stderr[-3000:]
    assert f"2020-08 is being run by {socket.gethostname()}:{month_run.pid}" in refused.stderr
    assert not (lake / "superseded").exists(), "nothing set aside"
    go.touch()
    _, err = month_run.communicate(timeout=300)
    assert month_run.returncode == 0, err[-3000:]
    assert (lake / "reports/2020/08/email.json").exists()


def test_a_second_reprocess_of_the_month_is_refused_naming_the_first(lake, tmp_path):
    small_month(lake)
    first, go = held("admin", REPROCESS, lake, tmp_path)
    second = admin_command(REPROCESS, lake, tmp_path)
    assert second.returncode == 1, second.stderr[-3000:]
    assert f"locks/2020/08/reprocess.lock still held by {socket.gethostname()}:{first.pid} since" in second.stderr
    go.touch()
    first.communicate(timeout=300)
    assert first.returncode == 0


def interleaving(trace) -> tuple[list[float], list[float], list[tuple[float, float]]]:
    """The run's passed claims and marker removals, and reprocess's windows (went ahead, released)."""
    events = [line.split() for line in trace.read_text().splitlines()] if trace.exists() else []
    at = {name: [float(t) for t, _, event in events if event == name] for name in ("claim", "unmark", "ahead")}
    released = [float(t) for t, _, event in events if event == "released"]
    windows = [(ahead, min(t for t in released if t >= ahead)) for ahead in at["ahead"]]
    return at["claim"], at["unmark"], windows


@pytest.mark.slow
@pytest.mark.parametrize("lag", [0.0, 0.3, 0.6, 0.9])
def test_a_run_and_a_reprocess_started_together_never_both_go_ahead(lake, tmp_path, lag):
    small_month(lake)
    trace = tmp_path / "trace"
    reprocess = watched("admin", REPROCESS, lake, tmp_path, TRACE=str(trace))
    time.sleep(lag)
    month_run = watched("run", RUN, lake, tmp_path, TRACE=str(trace))
    for process in (reprocess, month_run):
        process.communicate(timeout=300)
        assert process.returncode in (0, 1)
    claims, unmarks, windows = interleaving(trace)
    for ahead, released in windows:
        assert not [t for t in claims if ahead <= t <= released], "a run claimed the month while it was re-processed"
        before = [t for t in claims if t < ahead]
        if before:
            assert [t for t in unmarks if before[-1] < t < ahead], "re-processed while a run's marker stood"
    assert claims or windows, "neither went ahead"
