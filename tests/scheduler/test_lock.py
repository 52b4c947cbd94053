"""The lake lock: one holder at a time (local flock, S3 conditional put), stale S3 locks broken, one email."""

import datetime as dt
import threading
import time
import uuid

import pytest

from bottleneck import lake, layout, lock
from bottleneck.tasks import MonthEmail
from tests.scheduler import runs

MONTH = dt.date(2020, 6, 1)


@pytest.fixture
def s3_lake(s3_server, s3_env, monkeypatch):
    bucket = f"lock-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    monkeypatch.setenv("BOTTLENECK_LAKE", f"s3://{bucket}/lake")
    return s3_server.client(), bucket


@pytest.fixture(params=["local", "s3"])
def any_lake(request, tmp_path, monkeypatch):
    if request.param == "s3":
        return request.getfixturevalue("s3_lake")
    monkeypatch.setenv("BOTTLENECK_LAKE", str(tmp_path / "lake"))
    return None


def test_a_held_lock_makes_the_second_taker_wait_then_give_up(any_lake):
    with lock.month_lock(MONTH, "email"):
        started = time.monotonic()
        with (
            pytest.raises(lock.LockTimeout, match=r"2020-06: .*locks/2020/06/email.lock still held by .*:\d+"),
            lock.month_lock(MONTH, "email", wait_seconds=0.5, poll_seconds=0.1),
        ):
            pass
        assert time.monotonic() - started >= 0.5
    with lock.month_lock(MONTH, "email", wait_seconds=0.5):  # released: taken at once
        pass


def test_a_waiter_gets_the_lock_when_the_holder_releases_it(any_lake):
    order = []

    def holder():
        with lock.month_lock(MONTH, "email"):
            order.append("held")
            time.sleep(0.8)
            order.append("released")

    thread = threading.Thread(target=holder)
    thread.start()
    while not order:
        time.sleep(0.01)
    with lock.month_lock(MONTH, "email", wait_seconds=10, poll_seconds=0.1):
        order.append("taken")
    thread.join()
    assert order == ["held", "released", "taken"]


def test_locks_of_other_months_and_steps_are_independent(any_lake):
    with (
        lock.month_lock(MONTH, "email"),
        lock.month_lock(MONTH, "other", wait_seconds=0),
        lock.month_lock(dt.date(2020, 7, 1), "email", wait_seconds=0),
    ):
        pass


def test_a_stale_s3_lock_is_broken_and_a_fresh_one_is_not(s3_lake):
    client, bucket = s3_lake
    key = layout.location(MONTH, "lock", name="email").split(f"{bucket}/", 1)[1]
    client.put_object(Bucket=bucket, Key=key, Body=b'{"owner": "dead-pod:1"}')
    with (
        pytest.raises(lock.LockTimeout, match="dead-pod:1"),
        lock.month_lock(MONTH, "email", wait_seconds=0.3, poll_seconds=0.1),
    ):
        pass
    with lock.month_lock(MONTH, "email", wait_seconds=5, stale_seconds=0, poll_seconds=0.1):
        assert b"dead-pod" not in client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert "Contents" not in client.list_objects_v2(Bucket=bucket, Prefix=key)  # released


def test_s3_release_never_deletes_a_lock_taken_by_another_run(s3_lake):
    client, bucket = s3_lake
    key = layout.location(MONTH, "lock", name="email").split(f"{bucket}/", 1)[1]
    with lock.month_lock(MONTH, "email"):
        # This run's lock was broken as stale and another run took it meanwhile.
        client.delete_object(Bucket=bucket, Key=key)
        client.put_object(Bucket=bucket, Key=key, Body=b'{"owner": "other-run:2"}')
    assert b"other-run:2" in client.get_object(Bucket=bucket, Key=key)["Body"].read()


def write_reports(month: dt.date) -> None:
    """MonthEmail's inputs, as MonthReport leaves them."""
    quality = {"month": f"{month:%Y-%m}", "products": 2, "premium": 1, "ordinary": 1, "turnover": "10.00", "checks": []}
    import json

    wines = b"product_id,sku,post_title,price,total_sales,revenue\r\n"
    files = {
        "report_xlsx": b"PK-not-really",
        "premium_csv": wines + b"1,11,Premium,90.00,1,90.00\r\n",
        "ordinary_csv": wines + b"2,12,Ordinary,9.00,1,9.00\r\n",
        "rejected_csv": b"source_file\r\n",
        "changes_csv": b"change\r\n",
        "quality_json": json.dumps(quality).encode(),
    }
    for dataset, data in files.items():
        lake.write_bytes(lake.target(month, dataset), data)


def test_two_runs_of_month_email_at_once_send_one_email(any_lake, smtp_server, luigi_options):
    mail = smtp_server.get("plain")
    for option, value in mail.smtp_options().items():
        luigi_options("smtp", option, value)
    luigi_options("email", "sender", "reports@bottleneck.test")
    luigi_options("email", "receiver", "pm@bottleneck.test")
    write_reports(MONTH)
    errors = []

    def run_email():
        try:
            MonthEmail(month=MONTH).run()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run_email) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(mail.received()) == 1
    assert lake.exists(lake.target(MONTH, "email_receipt"))


def test_two_local_runs_of_a_month_at_once_both_succeed_with_one_email(smtp_server, tmp_path, monkeypatch):
    local_lake = tmp_path / "lake"
    monkeypatch.setenv("BOTTLENECK_LAKE", str(local_lake))
    mail = smtp_server.get("plain")
    runs.write_months("2020-06")
    config = tmp_path / "luigi.cfg"
    config.write_text(
        "[smtp]\n"
        + "".join(f"{k} = {v}\n" for k, v in mail.smtp_options().items())
        + "[email]\nsender = reports@bottleneck.test\nreceiver = pm@bottleneck.test\n"
    )
    env = runs.environment(str(local_lake), config)

    both = [
        runs.start(["RunMonth", "--month", "2020-06", "--local-scheduler", "--workers", "2"], env, tmp_path)
        for _ in range(2)
    ]
    outcomes = [run.finished(timeout=180) for run in both]

    for code, _, log in outcomes:
        assert code == 0, log[-3000:]
    assert len(mail.received()) == 1
    assert runs.report_exists("2020-06")
    import json

    import openpyxl

    quality = json.loads((local_lake / "reports/2020/06/quality.json").read_text())
    assert quality["month"] == "2020-06"
    assert openpyxl.load_workbook(local_lake / "reports/2020/06/report.xlsx").sheetnames
    assert not list(local_lake.rglob("*luigi-tmp*"))  # no half-written file left behind
