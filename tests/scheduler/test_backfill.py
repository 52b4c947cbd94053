"""Scale-out: three workers on one luigid backfill six months in S3, each task run once, six emails."""

import sqlite3
import uuid
from collections import Counter

import pytest

from tests.scheduler import runs

MONTHS = [f"2020-{m:02d}" for m in range(1, 7)]
BACKFILL = ["RangeMonthly", "--of", "RunMonth", "--start", "2020-01", "--stop", "2020-07", "--workers", "2"]


@pytest.fixture
def s3_lake(s3_server, s3_env, monkeypatch):
    bucket = f"backfill-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/lake"
    monkeypatch.setenv("BOTTLENECK_LAKE", url)
    return url


@pytest.mark.slow  # about a minute: six months through S3 on a 2-core machine
def test_three_workers_share_a_six_month_backfill(luigid, s3_lake, s3_env, smtp_server, tmp_path):
    mail = smtp_server.get("plain")
    runs.write_months(*MONTHS)
    config = tmp_path / "luigi.cfg"
    smtp = "".join(f"{name} = {value}\n" for name, value in mail.smtp_options().items())
    config.write_text(
        luigid.luigi_cfg()
        + "[smtp]\n"
        + smtp
        + "[email]\nsender = reports@bottleneck.test\nreceiver = pm@bottleneck.test\n"
    )
    env = runs.environment(s3_lake, config, s3_env)

    workers = [runs.start(BACKFILL, env, tmp_path) for _ in range(3)]
    outcomes = [worker.finished(timeout=240) for worker in workers]

    for code, _, log in outcomes:
        assert code == 0, log[-4000:]
    for month in MONTHS:
        assert runs.report_exists(month), month

    received = mail.received()
    assert len(received) == 6
    subjects = [message["Subject"] for message, _ in received]
    for month in MONTHS:
        assert sum(month in subject for subject in subjects) == 1, subjects

    # The workers' own logs: every task started once, by one worker, and the work was shared.
    started = [run for _, _, log in outcomes for run in runs.runs_in_log(log)]
    per_task = Counter(task for _, task in started)
    assert per_task, [task for task, n in per_task.items() if n > 1]
    assert max(per_task.values()) == 1, [task for task, n in per_task.items() if n > 1]
    assert sum(task.startswith("MonthEmail(") for task in per_task) == 6
    assert len({pid for pid, _ in started}) >= 2, "one worker ran everything: the work was not shared"

    # luigid's task history agrees: one RUNNING event a task.
    with sqlite3.connect(luigid.history_db) as db:
        running = Counter(
            task_id
            for (task_id,) in db.execute(
                "SELECT t.task_id FROM tasks t JOIN task_events e ON e.task_id = t.id WHERE e.event_name = 'RUNNING'"
            )
        )
    assert running
    assert max(running.values()) == 1
    assert sum(task_id.startswith("MonthEmail_") for task_id in running) == 6

    # The range is done: a late worker finds nothing to do and exits 0 too.
    late = runs.run(BACKFILL, env, tmp_path)
    assert late.returncode == 0, late.stderr[-3000:]
    assert runs.runs_in_log(late.stderr) == []
    assert len(mail.received()) == 6
