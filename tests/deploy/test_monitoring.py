"""The chart's monitoring: the Pushgateway URL in luigi.cfg, and the PrometheusRule (the dead man's switch),
checked by `promtool check rules` and proved to fire, and not to, by `promtool test rules`."""

import re

import pytest
import yaml

from tests.deploy.conftest import REPO, find, run, tool
from tests.deploy.test_manifests import luigi_cfg

HOUR = 3600
NO_SUCCESS_HOURS = 31 * 24 + 72  # a month plus the default grace


@pytest.fixture(scope="module")
def promtool():
    return tool("promtool", "PROMTOOL")


def rules_of(docs: list[dict]) -> dict:
    rule = find(docs, "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    return rule["spec"]


def test_monitoring_off_renders_no_rule_and_no_pushgateway(render_chart):
    docs, _ = render_chart()
    assert not [doc for doc in docs if doc["kind"] == "PrometheusRule"]
    assert not luigi_cfg(find(docs, "ConfigMap")).has_option("bottleneck", "pushgateway")


def test_monitoring_on_renders_a_valid_rule_and_points_the_runs_at_the_pushgateway(
    render_chart, validate, promtool, tmp_path
):
    docs, text = render_chart(
        sets={
            "monitoring.prometheusRule.enabled": True,
            "monitoring.prometheusRule.labels.release": "kube-prometheus-stack",
            "monitoring.pushgateway": "http://pushgateway.monitoring:9091",
        }
    )
    validate(text)
    rule = find(docs, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert luigi_cfg(find(docs, "ConfigMap")).get("bottleneck", "pushgateway") == "http://pushgateway.monitoring:9091"
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(rules_of(docs)))
    checked = run([promtool, "check", "rules", str(rules_file)])
    assert "SUCCESS: 4 rules found" in checked.stdout


def promtool_test(promtool, tmp_path, spec: dict, series: list[dict], alerts: list[dict], interval: str):
    """Runs `promtool test rules`: the rules without annotations, so that each expected alert is told by
    its name and labels alone; fails the test when promtool does."""
    for group in spec["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "test.yaml").write_text(
        yaml.safe_dump(
            {
                "rule_files": ["rules.yaml"],
                "evaluation_interval": interval,
                "tests": [{"interval": interval, "input_series": series, "alert_rule_test": alerts}],
            }
        )
    )
    return run([promtool, "test", "rules", str(tmp_path / "test.yaml")], cwd=tmp_path)


def test_no_month_succeeded_for_a_month_plus_grace_fires_and_not_before(render_chart, promtool, tmp_path):
    spec = rules_of(render_chart(sets={"monitoring.prometheusRule.enabled": True})[0])
    # The last success at time 0; the Pushgateway keeps that value, scraped every hour.
    hours = NO_SUCCESS_HOURS + 24
    series = [
        {
            "series": 'bottleneck_last_success_timestamp_seconds{job="bottleneck",month="2020-08"}',
            "values": f"0+0x{hours}",
        }
    ]
    name = "BottleneckNoMonthSucceeded"
    alerts = [
        {"eval_time": f"{NO_SUCCESS_HOURS - 24}h", "alertname": name, "exp_alerts": []},
        {
            "eval_time": f"{NO_SUCCESS_HOURS + 1}h",
            "alertname": name,
            "exp_alerts": [{"exp_labels": {"severity": "critical"}}],
        },
        {"eval_time": f"{NO_SUCCESS_HOURS + 1}h", "alertname": "BottleneckNoMetrics", "exp_alerts": []},
    ]
    promtool_test(promtool, tmp_path, spec, series, alerts, "1h")


def test_no_metrics_at_all_fires_once_a_month_plus_grace_has_passed(render_chart, promtool, tmp_path):
    spec = rules_of(render_chart(sets={"monitoring.prometheusRule.enabled": True})[0])
    series = [{"series": 'unrelated_metric{job="other"}', "values": f"1+0x{NO_SUCCESS_HOURS + 24}"}]
    alerts = [
        {"eval_time": f"{NO_SUCCESS_HOURS - 1}h", "alertname": "BottleneckNoMetrics", "exp_alerts": []},
        {
            "eval_time": f"{NO_SUCCESS_HOURS + 1}h",
            "alertname": "BottleneckNoMetrics",
            "exp_alerts": [{"exp_labels": {"severity": "critical", "job": "bottleneck"}}],
        },
    ]
    promtool_test(promtool, tmp_path, spec, series, alerts, "1h")


def test_a_failed_run_fires_for_its_month_until_a_run_succeeds(render_chart, promtool, tmp_path):
    spec = rules_of(
        render_chart(sets={"monitoring.prometheusRule.enabled": True, "monitoring.prometheusRule.severity": "page"})[0]
    )
    # 2020-09 fails at minute 1 and stays failed 30 minutes, then a re-run succeeds; 2020-08 succeeded.
    series = [
        {"series": 'bottleneck_run_success{job="bottleneck",month="2020-09"}', "values": "1 " + "0 " * 30 + "1x20"},
        {"series": 'bottleneck_run_success{job="bottleneck",month="2020-08"}', "values": "1x50"},
        {"series": 'bottleneck_last_success_timestamp_seconds{job="bottleneck",month="2020-08"}', "values": "0x50"},
    ]
    name = "BottleneckRunFailed"
    alerts = [
        {"eval_time": "5m", "alertname": name, "exp_alerts": []},  # within failedFor (10m): a retry may fix it
        {
            "eval_time": "20m",
            "alertname": name,
            "exp_alerts": [{"exp_labels": {"severity": "page", "job": "bottleneck", "month": "2020-09"}}],
        },
        {"eval_time": "40m", "alertname": name, "exp_alerts": []},
    ]
    promtool_test(promtool, tmp_path, spec, series, alerts, "1m")


def test_the_operations_guide_gives_a_plain_prometheus_the_chart_s_rules(render_chart):
    spec = rules_of(render_chart(sets={"monitoring.prometheusRule.enabled": True})[0])
    readme = (REPO / "docs" / "operations.md").read_text()
    block = re.search(r"```yaml\n(# bottleneck-rules\.yml.*?)```", readme, re.S)
    assert block, (
        "docs/operations.md: the rules for a plain Prometheus, in a ```yaml block starting '# bottleneck-rules.yml'"
    )
    assert yaml.safe_load(block.group(1)) == spec


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"monitoring.pushgateway": "pushgateway:9091"}, "monitoring.pushgateway"),
        ({"monitoring.prometheusRule.failedFor": "soon"}, "failedFor"),
        ({"monitoring.prometheusRule.graceHours": -1}, "graceHours"),
    ],
)
def test_chart_refuses_wrong_monitoring_values(helm, sets, message):
    args = ["template", "x", str(REPO / "helm" / "bottleneck")]
    for key, value in sets.items():
        args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
    result = helm(*args, check=False)
    assert result.returncode != 0, result.stderr
    assert message in result.stderr, result.stderr


def test_a_run_near_its_memory_limit_fires_for_its_month(render_chart, promtool, tmp_path):
    spec = rules_of(render_chart(sets={"monitoring.prometheusRule.enabled": True})[0])
    gib = 1 << 30
    series = [
        {"series": 'bottleneck_memory_limit_bytes{job="bottleneck",month="2020-08"}', "values": f"{gib}x10"},
        {"series": 'bottleneck_memory_limit_bytes{job="bottleneck",month="2020-09"}', "values": f"{gib}x10"},
        # 2020-08 peaked at 70% of its limit; 2020-09 at 85%, pushed before the kernel could kill it.
        {"series": 'bottleneck_run_peak_rss_bytes{job="bottleneck",month="2020-08"}', "values": f"{int(0.7 * gib)}x10"},
        {
            "series": 'bottleneck_run_peak_rss_bytes{job="bottleneck",month="2020-09"}',
            "values": f"{int(0.85 * gib)}x10",
        },
    ]
    alerts = [
        {
            "eval_time": "5m",
            "alertname": "BottleneckNearMemoryLimit",
            "exp_alerts": [{"exp_labels": {"severity": "critical", "job": "bottleneck", "month": "2020-09"}}],
        }
    ]
    promtool_test(promtool, tmp_path, spec, series, alerts, "1m")
