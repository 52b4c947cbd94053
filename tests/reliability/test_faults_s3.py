"""S3 faults against a real S3 server process: down at the start, down for good, killed mid-report."""

import time

import pytest

from tests.reliability.harness import OPERATORS, REPORT_FILES

pytestmark = pytest.mark.slow


def test_s3_down_at_start_and_back_within_the_retry_window_completes(lake, proxy, pipeline):
    pipeline.configure("bottleneck", lake=lake.url, retry_seconds=60)
    proxy.stop()
    run = pipeline.start(env={"AWS_ENDPOINT_URL": proxy.endpoint})
    time.sleep(3)
    assert run.poll() is None, "the run gave up while the lake was down, inside its retry window"
    proxy.start()
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 0, output[-3000:]
    assert set(lake.reports()) == set(REPORT_FILES)
    assert "reports/2020/08/email.json" in lake.objects()


def test_s3_down_for_good_retries_for_a_bounded_time_alerts_once_and_writes_nothing(lake, proxy, pipeline, smtp_server):
    smtp = smtp_server.get("plain")
    pipeline.configure("bottleneck", lake=lake.url, retry_seconds=3)
    pipeline.configure("smtp", **smtp.smtp_options())
    before = lake.objects()
    proxy.stop()
    started = time.monotonic()
    result = pipeline.run(env={"AWS_ENDPOINT_URL": proxy.endpoint})
    elapsed = time.monotonic() - started
    assert result.returncode == 9, result.stdout[-3000:]  # LakeError
    assert "unreachable for [bottleneck] retry_seconds=3s" in result.stdout
    assert elapsed < 60, f"gave up after {elapsed:.0f}s, not bounded by retry_seconds=3"
    proxy.start()
    assert lake.objects().keys() == before.keys(), "something was written while the lake was down"
    assert pipeline.leftovers() == []
    received = smtp.received()
    assert [envelope["rcpt_tos"] for _, envelope in received] == [[OPERATORS]], "expected one alert, to operators"
    assert "FAILED" in received[0][0]["Subject"]


def test_s3_killed_while_the_report_is_written_leaves_no_complete_looking_report(lake, s3_server, pipeline):
    from tests.reliability.harness import Proxy

    pipeline.configure("bottleneck", lake=lake.url, retry_seconds=2)
    dying = Proxy(s3_server.port)
    # The server dies once it has the head and 100 bytes of the third of the five report files.
    dying.start(die_on=r"PUT \S*/reports/2020/08/ordinary_wines\.csv")
    try:
        result = pipeline.run(env={"AWS_ENDPOINT_URL": dying.endpoint})
        assert not dying.running(), "the fault was not injected: the server never received the report"
        assert result.returncode == 9, result.stdout[-3000:]
        written = {path.rsplit("/", 1)[1]: lake.get(path) for path in lake.objects() if path.startswith("reports/")}
        assert "quality.json" not in written, "the report looks complete"
        assert "email.json" not in written, "the report looks complete"
        assert "ordinary_wines.csv" not in written, "the object being written when the server died was kept"
        assert pipeline.leftovers() == []
        dying.start()  # the server back, faults off
        rerun = pipeline.run(env={"AWS_ENDPOINT_URL": dying.endpoint})
        assert rerun.returncode == 0, rerun.stdout[-3000:]
    finally:
        dying.stop()
    final = lake.reports()
    assert set(final) == set(REPORT_FILES)
    assert all(final[name] == data for name, data in written.items()), "an object written before the crash differs"
    assert "reports/2020/08/email.json" in lake.objects()
