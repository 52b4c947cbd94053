"""The operators' failure alert: one email per failed month and run, whatever task failed, from a Luigi event.

Luigi's own error emails are not used: they are skipped when stdout is a terminal, go to [email]
receiver (the report's readers) and verify no TLS certificate; bottleneck.config turns them off where
luigi.cfg says nothing, and bottleneck.events calls on_failure() for every failure of a run.
"""

import collections
import datetime as dt
import json
import logging
import multiprocessing
import threading
from typing import TYPE_CHECKING, Any

import luigi

from bottleneck import config, identity, lake, layout, mail, quality
from bottleneck.mail.message import RERUN

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import SynchronizedArray

logger = logging.getLogger(f"luigi-interface.{__name__}")

LOG_LINES = 15
MONTHS_REMEMBERED = 1200  # one slot a month: a century of backfill in one process

_recent: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
# Months (as YYYYMM) already alerted, in memory shared with forked Luigi workers.
_alerted: "SynchronizedArray[int] | None" = None
_start_lock = threading.Lock()


class RecentLines(logging.Handler):
    """Keeps the last few log records in memory, to show what happened before a failure."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _recent.append(self.format(record))
        except Exception:  # noqa: BLE001 - a log line that cannot be formatted must not break the run
            self.handleError(record)


_handler = RecentLines(logging.INFO)
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))


def start() -> None:
    """Keeps the run's recent log lines, and the months alerted in memory its forked workers share. Called
    once, as the run starts (bottleneck.events), before Luigi forks a worker."""
    global _alerted
    with _start_lock:
        if _alerted is None:
            _alerted = multiprocessing.Array("i", MONTHS_REMEMBERED)
        if _handler not in logging.getLogger().handlers:
            logging.getLogger().addHandler(_handler)


def reset() -> None:
    """Forgets which months were alerted (a new run in the same process, as in tests) and the log lines."""
    if _alerted is not None:
        with _alerted.get_lock():
            for i in range(len(_alerted)):
                _alerted[i] = 0
    _recent.clear()


def _first_alert(month: dt.date) -> bool:
    """True once per month and run, across the forked workers of one Luigi process."""
    key = month.year * 100 + month.month
    if _alerted is None:
        return True
    with _alerted.get_lock():
        for i, value in enumerate(_alerted[:]):
            if value == key:
                return False
            if value == 0:
                _alerted[i] = key
                return True
    return True


def receivers() -> list[str]:
    """[bottleneck] alert_receivers, or Luigi's [email] receiver when none is set."""
    return mail.addresses(config.settings().alert_receivers) or mail.report_receivers()


def _month_of(task: luigi.Task) -> dt.date:
    month = getattr(task, "month", None)
    return month if isinstance(month, dt.date) else config.current_month()


def on_failure(task: luigi.Task, error: BaseException | str) -> None:
    alert_once(str(task), _month_of(task), error)


def alert_once(failed: str, month: dt.date, error: BaseException | str) -> None:
    """Alerts the operators of the failure of `failed` (a task, or a command refused at its start), once per
    month and run."""
    # Luigi logs and swallows what a handler raises; this one also must not hide the task's own failure.
    try:
        if not _first_alert(month):
            logger.info("failure of %s: the operators were already alerted for %s", failed, f"{month:%Y-%m}")
            return
        send_alert(failed, error, month)
    except Exception as problem:  # noqa: BLE001 - the alert is best effort; the run already failed
        text = mail.smtp_settings().redact(str(problem))
        logger.error("failure alert for %s not delivered: %s", f"{month:%Y-%m}", text)


def error_text(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        # A failed gate carries its whole check table, which operators need more than its first line.
        checks = getattr(error, "checks", None)
        table = f"\n\nEvery check of the gate:\n{quality.check_table(checks)}" if checks else ""
        return f"{type(error).__name__}: {error}{table}"
    return str(error)


def next_steps(error: BaseException | str, month: dt.date) -> list[tuple[str, str]] | None:
    """What an operator can do about a month its gate held, each a sentence and its command: release it when every
    check that holds it is a plausibility check, or correct an export and re-process it (None: run it again)."""
    held = [check for check in getattr(error, "checks", None) or [] if check.get("status") == "failed"]
    if not held:
        return None
    label = f"{month:%Y-%m}"
    steps = []
    if all(check.get("kind") == quality.PLAUSIBILITY for check in held):
        keys = " ".join(f"--check {check['key']}" for check in held)
        steps.append(
            (
                "If the month is right as it is (a closing-down sale, a new catalogue), release it, saying why, "
                "then run it again:",
                f'bottleneck-admin accept --month {label} {keys} --reason "..."\n{RERUN.format(month=label)}',
            )
        )
    steps.append(
        (
            f"If an export is wrong, put the corrected one in {layout.folder(month, 'raw')}/ and re-process the month:",
            identity.reprocess_command(month),
        )
    )
    return steps


def send_alert(failed: str, error: BaseException | str, month: dt.date) -> dict[str, Any]:
    settings = mail.smtp_settings()
    operators = receivers()
    lines = [line for record in list(_recent) for line in record.splitlines()][-3 * LOG_LINES :]
    message = mail.alert_email(
        month=f"{month:%Y-%m}",
        task=failed,
        error=settings.redact(error_text(error)),
        log_lines=[settings.redact(line) for line in lines],
        sender=mail.sender(),
        receivers=operators,
        steps=next_steps(error, month),
    )
    if settings.host and not operators:
        logger.error("failure of %s not alerted: set [bottleneck] alert_receivers", failed)
        return {}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    record = mail.deliver(message, operators, month, "alert_eml", settings, stamp=stamp)
    try:
        # What `bottleneck-admin status` shows as the month's last alert, sent or written as .eml.
        lake.write_text(
            lake.target(month, "alert_record", stamp=stamp),
            json.dumps(
                {"month": f"{month:%Y-%m}", "task": failed, "error": settings.redact(error_text(error)), **record},
                indent=2,
            ),
        )
    except Exception as problem:  # noqa: BLE001 - the alert itself went out; only its record is missing
        logger.warning("record of the alert for %s not written: %s", f"{month:%Y-%m}", problem)
    logger.info("operators alerted of the failure of %s (%s)", failed, record.get("path") or record["message_id"])
    return record
