"""The lock store's proof: a real S3 server process (moto) passes it; the same server behind a proxy process that
drops If-None-Match or If-Match is refused, by the run (exit 9, before any task, the operators alerted) and by
`bottleneck-admin check`, naming the store and the fix; with [bottleneck] lock_folder the month runs through
that store."""

import datetime as dt
import email
import email.policy
import uuid

import pytest

from bottleneck import lock_probe
from bottleneck.demo import synthetic_month
from tests.months import run, run_month
from tests.scheduler.runs import runs_in_log

MONTH = dt.date(2020, 8, 1)


@pytest.fixture
def bucket(s3_server):
    """A bucket holding a small month's raw exports under lake/."""
    name = f"probe-{uuid.uuid4().hex[:12]}"
    client = s3_server.client()
    client.create_bucket(Bucket=name)
    for source, data in synthetic_month(MONTH, products=120, seed=5).items():
        client.put_object(Bucket=name, Key=f"lake/raw/2020/08/{source}.xlsx", Body=data)
    return name


def keys(client, bucket: str) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_store_that_honours_conditional_writes_is_proven_and_keeps_no_probe(s3_server, s3_env, bucket, monkeypatch):
    monkeypatch.setenv("BOTTLENECK_LAKE", f"s3://{bucket}/lake")
    assert lock_probe.require_conditional_writes(MONTH) == f"s3://{bucket} at {s3_server.endpoint}"
    assert not [key for key in keys(s3_server.client(), bucket) if key.startswith("lake/locks/")]


def test_a_local_lake_needs_no_proof(local_lake):
    assert lock_probe.require_conditional_writes(MONTH) is None


@pytest.mark.parametrize(
    ("dropped", "said"),
    [
        ("If-None-Match", "ignores If-None-Match: it accepted a second conditional put of lake/locks/2020/08/probe-"),
        ("If-Match", "ignores If-Match: asked to delete lake/locks/2020/08/probe-"),
    ],
)
def test_a_run_against_a_store_that_ignores_a_condition_exits_9_before_any_task(
    s3_ignoring, s3_server, bucket, tmp_path, dropped, said
):
    store = s3_ignoring(dropped)
    result = run_month(f"s3://{bucket}/lake", tmp_path, env=store.env())
    assert result.returncode == 9, result.stderr[-3000:]
    (line,) = [line for line in result.stderr.splitlines() if "refused to start" in line]
    assert f"lock store s3://{bucket} at {store.endpoint} {said}" in line
    assert "two runs of one month could both take its lock" in line
    assert "[bottleneck] lock_folder" in line
    assert "Traceback" not in result.stderr
    assert not runs_in_log(result.stderr), "a task of the month ran"
    left = [key for key in keys(s3_server.client(), bucket) if not key.startswith("lake/raw/")]
    # Only the operators' alert: no staging, no marker, no lock (delivery = lake here: an .eml and its record).
    assert left, "no alert"
    assert all(key.startswith("lake/alerts/2020/08/") for key in left), left
    (alert,) = [key for key in left if key.endswith("-alert.eml")]
    message = email.message_from_bytes(
        s3_server.client().get_object(Bucket=bucket, Key=alert)["Body"].read(), policy=email.policy.default
    )
    assert "FAILED in RunMonth: UnsafeLockStoreError: lock store s3://" in message["Subject"]


def test_check_names_the_store_that_ignores_a_condition(s3_ignoring, bucket, tmp_path):
    store = s3_ignoring("If-None-Match", "If-Match")
    result = run(["check"], f"s3://{bucket}/lake", tmp_path, store.env(), command="bottleneck-admin")
    assert result.returncode == 9, result.stdout + result.stderr
    assert f"ok      lake: s3://{bucket}/lake reachable, writable" in result.stdout
    assert f"FAILED  locks: lock store s3://{bucket} at {store.endpoint} ignores If-None-Match" in result.stdout


def test_check_says_the_store_honours_both_conditions(s3_server, bucket, tmp_path):
    result = run(["check"], f"s3://{bucket}/lake", tmp_path, s3_server.env(), command="bottleneck-admin")
    assert f"ok      locks: s3://{bucket} at {s3_server.endpoint} honours If-None-Match and If-Match" in result.stdout


def test_plain_luigi_against_such_a_store_stops_while_it_schedules(s3_ignoring, bucket, tmp_path):
    store = s3_ignoring("If-Match")
    args = ["--module", "bottleneck", "RunMonth", "--month", "2020-08", "--local-scheduler"]
    result = run(args, f"s3://{bucket}/lake", tmp_path, store.env(), command="luigi")
    assert result.returncode == 5, result.stderr[-3000:]  # Luigi's scheduling error
    assert f"lock store s3://{bucket} at {store.endpoint} ignores If-Match" in result.stderr


def test_with_a_lock_folder_a_month_runs_through_such_a_store(s3_ignoring, s3_server, bucket, tmp_path):
    store = s3_ignoring("If-None-Match", "If-Match")
    locks = tmp_path / "shared-locks"
    config = tmp_path / "luigi.cfg"
    config.write_text(f"[bottleneck]\nlock_folder = {locks}\ndelivery = lake\n")
    result = run_month(f"s3://{bucket}/lake", tmp_path, env={**store.env(), "LUIGI_CONFIG_PATH": str(config)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (locks / "locks/2020/08/email.lock").exists(), "the email lock was taken in the folder"
    left = keys(s3_server.client(), bucket)
    assert "lake/reports/2020/08/email.json" in left
    assert "lake/reports/2020/08/email.eml" in left
    assert not [key for key in left if key.endswith(".lock")], "no lock in the store that cannot hold one"
