"""bottleneck.metrics: each run pushes its metrics to a real Pushgateway process, read back from its /metrics."""

import datetime as dt
import json
import time

from bottleneck import metrics
from bottleneck.errors import MissingSourceError, QualityGateError
from tests.conftest import free_port
from tests.months import copy_month, raw_folder, run_month

MONTH = "2020-08"


def configured(tmp_path, url: str) -> dict:
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text(f"[bottleneck]\npushgateway = {url}\n")
    return {"LUIGI_CONFIG_PATH": str(cfg)}


def test_a_month_that_ran_pushes_its_figures_and_the_time_of_its_success(seed_month, tmp_path, pushgateway):
    lake = tmp_path / "lake"
    copy_month(seed_month, lake)
    before = time.time()
    result = run_month(lake, tmp_path, env=configured(tmp_path, pushgateway.url))
    assert result.returncode == 0, result.stderr
    pushed = pushgateway.samples()
    quality = json.loads((lake / "reports" / "2020" / "08" / "quality.json").read_text())
    assert pushed[("bottleneck_month_turnover", MONTH)] == 70568.60 == float(quality["turnover"])
    assert pushed[("bottleneck_month_products", MONTH)] == 714
    assert pushed[("bottleneck_month_premium", MONTH)] == 30
    assert pushed[("bottleneck_month_ordinary", MONTH)] == 684
    assert pushed[("bottleneck_quality_gate_passed", MONTH)] == 1
    assert pushed[("bottleneck_run_success", MONTH)] == 1
    assert pushed[("bottleneck_run_exit_code", MONTH)] == 0
    assert before <= pushed[("bottleneck_last_success_timestamp_seconds", MONTH)] <= time.time()
    assert 0 < pushed[("bottleneck_run_duration_seconds", MONTH)] < time.time() - before


def test_a_failed_run_pushes_its_exit_code_and_keeps_the_last_success(seed_month, tmp_path, pushgateway):
    lake = tmp_path / "lake"
    copy_month(seed_month, lake)
    assert run_month(lake, tmp_path, env=configured(tmp_path, pushgateway.url)).returncode == 0
    succeeded = pushgateway.samples()[("bottleneck_last_success_timestamp_seconds", MONTH)]
    raw_folder(lake, "2020-09")  # a month with no export: exit 3
    failed = run_month(lake, tmp_path, month="2020-09", env=configured(tmp_path, pushgateway.url))
    assert failed.returncode == 3, failed.stderr
    pushed = pushgateway.samples()
    assert pushed[("bottleneck_run_success", "2020-09")] == 0
    assert pushed[("bottleneck_run_exit_code", "2020-09")] == 3
    assert ("bottleneck_last_failure_timestamp_seconds", "2020-09") in pushed
    assert ("bottleneck_last_success_timestamp_seconds", "2020-09") not in pushed
    assert pushed[("bottleneck_last_success_timestamp_seconds", MONTH)] == succeeded


def test_a_pushgateway_that_is_down_warns_and_never_fails_the_month(seed_month, tmp_path):
    lake = tmp_path / "lake"
    copy_month(seed_month, lake)
    down = f"http://127.0.0.1:{free_port()}"
    result = run_month(lake, tmp_path, env=configured(tmp_path, down))
    assert result.returncode == 0, result.stderr
    assert f"metrics of 2020-08 not pushed to [bottleneck] pushgateway={down}" in result.stderr
    assert (lake / "reports" / "2020" / "08" / "email.json").exists()


def test_without_a_pushgateway_nothing_is_pushed_and_prometheus_client_is_not_imported(tmp_path):
    import subprocess
    import sys

    script = (
        "import datetime, sys, luigi, bottleneck\n"
        "luigi.build([bottleneck.RawManifest(month=datetime.date(2020, 8, 1))], local_scheduler=True)\n"
        "print('prometheus_client' in sys.modules)\n"
    )
    env = {
        "BOTTLENECK_LAKE": str(tmp_path / "lake"),
        "LUIGI_CONFIG_PATH": str(tmp_path / "absent.cfg"),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr[-2000:]


def test_samples_of_a_success_and_of_a_failure():
    quality = {
        "turnover": "12.50",
        "products": 3,
        "premium": 1,
        "ordinary": 2,
        "checks": [
            {"name": "stock", "level": "warning", "status": "warning"},
            {"name": "unique", "level": "error", "status": "passed"},
        ],
    }
    now = dt.datetime(2020, 9, 15, tzinfo=dt.UTC).timestamp()
    success = metrics.success_samples(quality, 4.5, now)
    assert success["bottleneck_month_turnover"] == 12.5
    assert success["bottleneck_quality_warnings"] == 1
    assert success["bottleneck_last_success_timestamp_seconds"] == now
    assert success["bottleneck_run_success"] == 1
    gate = metrics.failure_samples(QualityGateError("2020-08: quality gate failed"), 2.0, now)
    assert gate["bottleneck_run_exit_code"] == 7
    assert gate["bottleneck_quality_gate_passed"] == 0
    missing = metrics.failure_samples(MissingSourceError("absent"), 1.0, now)
    assert missing["bottleneck_run_exit_code"] == 3
    assert "bottleneck_quality_gate_passed" not in missing
    assert metrics.failure_samples("Luigi's text of a failure", 1.0, now)["bottleneck_run_exit_code"] == 1
    assert set(success) | set(gate) <= set(metrics.METRICS)


def test_the_metrics_say_how_each_report_went_and_the_run_s_peak_memory(tmp_path, pushgateway, smtp_server):
    from bottleneck.demo import synthetic_month

    lake = tmp_path / "lake"
    for month in ("2020-08", "2020-09"):
        exports = synthetic_month(dt.date(2020, int(month[5:]), 1), products=120)
        for source, data in exports.items():
            (raw_folder(lake, month) / f"{source}.xlsx").write_bytes(data)
    server = smtp_server.get("plain")
    smtp = "".join(f"{key} = {value}\n" for key, value in server.smtp_options().items())
    cfg = tmp_path / "luigi.cfg"
    common = f"pushgateway = {pushgateway.url}\n[email]\nreceiver = pm@bottleneck.test\n[smtp]\n{smtp}"
    cfg.write_text(f"[bottleneck]\ndelivery = smtp\nalert_receivers = ops@bottleneck.test\n{common}")
    assert run_month(lake, tmp_path, "2020-08", {"LUIGI_CONFIG_PATH": str(cfg)}).returncode == 0
    cfg.write_text(f"[bottleneck]\ndelivery = lake\n{common}")
    assert run_month(lake, tmp_path, "2020-09", {"LUIGI_CONFIG_PATH": str(cfg)}).returncode == 0
    pushed = pushgateway.samples()
    assert len(server.received()) == 1
    assert pushed[("bottleneck_month_report_sent", "2020-08")] == 1
    assert pushed[("bottleneck_month_report_sent", "2020-09")] == 0, "written to the lake, not sent"
    for month in ("2020-08", "2020-09"):
        assert 50e6 < pushed[("bottleneck_run_peak_rss_bytes", month)] < 1e9, "a whole run's peak, in bytes"
    assert metrics.delivery_samples({"transport": "smtp"}) == {"bottleneck_month_report_sent": 1}
    assert metrics.delivery_samples({"transport": "eml"}) == {"bottleneck_month_report_sent": 0}
