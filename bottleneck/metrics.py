"""Run metrics pushed to a Prometheus Pushgateway ([bottleneck] pushgateway), the convention for batch jobs.

Each month is one group of the job `bottleneck` (grouping key `month`), so every metric carries the
label month=YYYY-MM. A success pushes the figures and the time; a failure pushes the time and the exit
code, leaving the month's last figures as they were. A push that fails is logged as a warning: the
metrics watch the month, they never fail it. prometheus_client is imported only when a push is due.
Each run also pushes its peak memory and limit (bottleneck.memory): with its end, and at once when it
comes near the limit, before the kernel may kill it.
"""

import datetime as dt
import json
import logging
import time
from typing import Any

import luigi

from bottleneck import config, lake, memory
from bottleneck.errors import PipelineError, QualityGateError

logger = logging.getLogger(f"luigi-interface.{__name__}")

JOB = "bottleneck"
PUSH_TIMEOUT_SECONDS = 5.0

# name: help, for every metric the pipeline pushes.
METRICS = {
    "bottleneck_last_success_timestamp_seconds": "When the month last ran to the end (report delivered), Unix time.",
    "bottleneck_last_failure_timestamp_seconds": "When a run of the month last failed, Unix time.",
    "bottleneck_run_success": "1 when the month's last run succeeded, 0 when it failed.",
    "bottleneck_run_exit_code": "Exit code of the month's last run (0 success; see README, exit codes).",
    "bottleneck_run_duration_seconds": "Wall time of the month's last run, from its first task to its end.",
    "bottleneck_month_turnover": "The month's turnover, in the report's currency.",
    "bottleneck_month_products": "Products reconciled in all three exports.",
    "bottleneck_month_premium": "Premium wines of the month.",
    "bottleneck_month_ordinary": "Ordinary wines of the month.",
    "bottleneck_quality_gate_passed": "1 when the month's quality gate passed, 0 when it failed.",
    "bottleneck_quality_warnings": "Warning-level quality checks that failed in the month's gate.",
    "bottleneck_month_report_sent": "1 when the month's report was emailed (delivery = smtp), 0 when it was "
    "written to the lake as .eml (delivery = lake).",
    "bottleneck_run_peak_rss_bytes": "Peak resident memory of the process that ran the month's tasks, bytes; "
    "pushed at the end of the run, and when it comes near the memory limit.",
    "bottleneck_memory_limit_bytes": "Memory limit of the run's container (its cgroup), bytes; absent without one.",
}

_started: dict[dt.date, float] = {}  # month -> time its first task started in this process
_process_started = time.time()


def success_samples(quality: dict[str, Any], duration: float, now: float) -> dict[str, float]:
    """The metrics of a month that ran to the end, from its quality.json."""
    warnings = [check for check in quality.get("checks", []) if check.get("status") == "warning"]
    return {
        "bottleneck_last_success_timestamp_seconds": now,
        "bottleneck_run_success": 1,
        "bottleneck_run_exit_code": 0,
        "bottleneck_run_duration_seconds": duration,
        "bottleneck_month_turnover": float(quality["turnover"]),
        "bottleneck_month_products": quality["products"],
        "bottleneck_month_premium": quality["premium"],
        "bottleneck_month_ordinary": quality["ordinary"],
        "bottleneck_quality_gate_passed": 1,
        "bottleneck_quality_warnings": len(warnings),
    }


def delivery_samples(receipt: dict[str, Any]) -> dict[str, float]:
    """How the month's report went, from its receipt (reports/YYYY/MM/email.json): sent, or written to the lake."""
    return {"bottleneck_month_report_sent": 1 if receipt.get("transport") == "smtp" else 0}


def failure_samples(error: BaseException | str, duration: float, now: float) -> dict[str, float]:
    """The metrics of a month whose run failed with `error` (an exception, or Luigi's text)."""
    samples: dict[str, float] = {
        "bottleneck_last_failure_timestamp_seconds": now,
        "bottleneck_run_success": 0,
        "bottleneck_run_exit_code": error.exit_code if isinstance(error, PipelineError) else 1,
        "bottleneck_run_duration_seconds": duration,
    }
    if isinstance(error, QualityGateError):
        samples["bottleneck_quality_gate_passed"] = 0
    return samples


def push(url: str, month: dt.date, samples: dict[str, float]) -> bool:
    """Adds the samples to the month's group on the Pushgateway; False (and a warning) when it cannot."""
    try:
        from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

        registry = CollectorRegistry()
        for name, value in samples.items():
            Gauge(name, METRICS[name], registry=registry).set(value)
        pushadd_to_gateway(
            url, job=JOB, grouping_key={"month": f"{month:%Y-%m}"}, registry=registry, timeout=PUSH_TIMEOUT_SECONDS
        )
    except Exception as problem:  # noqa: BLE001 - metrics never fail the month
        logger.warning(
            "metrics of %s not pushed to [bottleneck] pushgateway=%s: %s: %s",
            f"{month:%Y-%m}",
            url,
            type(problem).__name__,
            problem,
        )
        return False
    logger.info("metrics of %s pushed to %s", f"{month:%Y-%m}", url)
    return True


def _month(task: luigi.Task) -> dt.date | None:
    month = getattr(task, "month", None)
    return month if isinstance(month, dt.date) else None


def _duration(month: dt.date, now: float) -> float:
    return now - _started.get(month, _process_started)


def on_start(task: luigi.Task) -> None:
    month = _month(task)
    if month is not None:
        _started.setdefault(month, time.time())
    memory.watch_this_process(_near_memory_limit)


def _near_memory_limit(peak: int, limit: int) -> None:
    # Now rather than with the run's end, which the kernel may never let come.
    url = config.settings().pushgateway
    for month in list(_started) if url else []:
        push(url, month, {"bottleneck_run_peak_rss_bytes": peak, "bottleneck_memory_limit_bytes": limit})


def on_success(task: luigi.Task) -> None:
    memory.check_now()
    # RunMonth's success is the month's: its email was delivered (or already was).
    url = config.settings().pushgateway
    month = _month(task)
    if not url or month is None or task.get_task_family() != "RunMonth":
        return
    now = time.time()
    try:
        quality = json.loads(lake.read_text(lake.target(month, "quality_json")))
        samples = {
            **success_samples(quality, _duration(month, now), now),
            **delivery_samples(lake.record(month, "email_receipt") or {}),
            **memory.samples(),
        }
    except Exception as problem:  # noqa: BLE001 - metrics never fail the month
        logger.warning("metrics of %s not pushed: its quality.json cannot be read: %s", f"{month:%Y-%m}", problem)
        return
    push(url, month, samples)


def on_failure(task: luigi.Task, error: BaseException | str) -> None:
    month = _month(task)
    if month is None:
        memory.check_now()
        return
    push_failure(month, error)


def push_failure(month: dt.date, error: BaseException | str) -> None:
    """Pushes the month's failure (a task's, or its run's refused start), with the run's memory."""
    memory.check_now()
    url = config.settings().pushgateway
    if not url:
        return
    now = time.time()
    push(url, month, {**failure_samples(error, _duration(month, now), now), **memory.samples()})
