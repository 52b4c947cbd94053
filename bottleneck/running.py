"""Which months a live run is working on, marked in the lake so that the operator's commands can tell.

Each process that runs a task of a month keeps a marker `locks/YYYY/MM/run-<host>-<pid>.json`, written
before each of its tasks (`claim`), refreshed as the task starts and removed when the process ends. A
marker is taken for a live run unless its process is known to be gone: same host and no such process,
or not refreshed for longer than bottleneck.lock.STALE_SECONDS (a run killed on another machine, whose
marker nobody removed).

`claim` and `bottleneck-admin reprocess` keep each other out. A run writes its marker, then looks at
the month's reprocess lock; reprocess takes that lock, then looks for markers. Each writes before it
reads what the other writes, and the lake answers each read with the last completed write (S3 and a
local folder both do): whichever reads second sees the other. Both may stop; both never go on.
"""

import atexit
import datetime as dt
import json
import logging
import multiprocessing
import os
import socket
import threading
from typing import TYPE_CHECKING, Any, TypedDict

import botocore.exceptions
import luigi
import luigi.target

from bottleneck import lake, layout, lock
from bottleneck.errors import PipelineError

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import SynchronizedArray

logger = logging.getLogger(f"luigi-interface.{__name__}")


class Owner(TypedDict):
    """A process running a month's tasks, as its marker names it."""

    host: str
    pid: int


# Months (as YYYYMM) this process and its forked workers marked, to remove at exit.
_marked: "SynchronizedArray[int] | None" = None
# host-pid of the process that started the run; forked workers share its marker.
_owner: Owner | None = None
_start_lock = threading.Lock()


def owner_name(host: str, pid: int) -> str:
    return f"{host}-{pid}"


def start() -> None:
    """Remembers this process as the owner of its months' markers, in memory its forked workers share, and
    removes its markers when it exits. Called once, as the run starts (bottleneck.events), before Luigi forks."""
    global _marked, _owner
    with _start_lock:
        if _marked is not None:
            return
        _marked = multiprocessing.Array("i", 1200)
        _owner = {"host": socket.gethostname(), "pid": os.getpid()}
        atexit.register(_remove_markers)


def mark(month: dt.date, owner: Owner, doing: str) -> None:
    record = {**owner, "doing": doing, "seen_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    lake.write_text(lake.target(month, "run_marker", owner=owner_name(owner["host"], owner["pid"])), json.dumps(record))


def unmark(month: dt.date, owner: Owner) -> None:
    lake.remove(lake.target(month, "run_marker", owner=owner_name(owner["host"], owner["pid"])))


# The lock `bottleneck-admin reprocess` holds while it sets a month's reports aside and runs it again.
REPROCESS_LOCK = "reprocess"


class MonthReprocessingError(PipelineError):
    """`bottleneck-admin reprocess` holds the month: a run would work on files it is replacing."""

    exit_code = 1


def _mark_mine(month: dt.date, doing: str) -> None:
    if _marked is None or _owner is None:
        return
    mark(month, _owner, doing)
    key = month.year * 100 + month.month
    with _marked.get_lock():
        for i, value in enumerate(_marked[:]):
            if value in (0, key):
                _marked[i] = key
                break


def claim(month: dt.date) -> None:
    """Marks the month as worked on by this process, then refuses it while a reprocess of it holds its lock.

    Called before every task of the month runs (MonthInputs.complete()); in this order, see the module's
    docstring. A reprocess's own run passes: the lock is this process's."""
    start()  # `luigi --module bottleneck` checks the month's inputs before the first event of its run
    _mark_mine(month, "starting a task")
    holder = lock.holder_elsewhere(month, REPROCESS_LOCK)
    if holder is not None:
        where = layout.lock_location(month, "lock", name=REPROCESS_LOCK)
        raise MonthReprocessingError(
            f"{month:%Y-%m} is being re-processed by {holder} ({where}); rule 'no run of a month while it is "
            "re-processed': this run stops, the re-processing runs the month and emails its report"
        )


def on_start(task: luigi.Task) -> None:
    month = getattr(task, "month", None)
    if not isinstance(month, dt.date):
        return
    try:
        _mark_mine(month, str(task))
    except Exception as problem:  # noqa: BLE001 - a refresh informs operators; claim() wrote the marker first
        logger.warning("run marker of %s not written: %s", f"{month:%Y-%m}", problem)


def on_end(task: luigi.Task, error: BaseException | str | None = None) -> None:
    """A month that ended (its RunMonth done, or a task failed) is no longer run by this process, even if the
    process goes on with other months (a backfill)."""
    month = getattr(task, "month", None)
    if not isinstance(month, dt.date) or _marked is None or _owner is None:
        return
    if error is None and task.get_task_family() != "RunMonth":
        return
    if error is not None and os.getpid() != _owner["pid"]:
        # A task failed in a forked worker: a sibling task of the month may still be running in another,
        # so the marker stays until the month's RunMonth ends or the process does.
        return
    try:
        unmark(month, _owner)
    except Exception as problem:  # noqa: BLE001 - a leftover marker goes stale by itself
        logger.warning("run marker of %s not removed: %s", f"{month:%Y-%m}", problem)


def _remove_markers() -> None:
    if _marked is None or _owner is None or os.getpid() != _owner["pid"]:
        return
    for key in [value for value in _marked[:] if value]:
        try:
            unmark(dt.date(key // 100, key % 100, 1), _owner)
        except Exception as problem:  # noqa: BLE001 - at exit: a leftover marker goes stale by itself
            logger.warning("run marker of %d not removed: %s", key, problem)


def _alive(record: dict[str, Any], now: dt.datetime) -> bool:
    if lock.process_gone(record.get("host"), record.get("pid")):
        return False
    try:
        seen = dt.datetime.fromisoformat(record["seen_at"])
    except (KeyError, ValueError):
        return False
    return (now - seen).total_seconds() <= lock.STALE_SECONDS


def live_runs(month: dt.date, now: dt.datetime | None = None, besides: Owner | None = None) -> list[dict[str, Any]]:
    """The markers of runs working on the month now (other than `besides`, this process's own)."""
    now = now or dt.datetime.now(dt.UTC)
    found = []
    where = layout.folder(month, "locks")
    for name in lake.listing(where):
        if not (name.startswith("run-") and name.endswith(".json")):
            continue
        try:
            record = json.loads(lake.read_text(lake.file_at(layout.join(where, name))))
        except (OSError, ValueError, luigi.target.FileSystemException, botocore.exceptions.ClientError):
            continue  # removed meanwhile, or cut short: not a run we can name
        if besides and (record.get("host"), record.get("pid")) == (besides["host"], besides["pid"]):
            continue
        if _alive(record, now):
            found.append(record)
    return found
