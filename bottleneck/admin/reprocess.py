"""`bottleneck-admin reprocess`: a month run again on purpose, its former reports set aside under superseded/.

Every step can be repeated: a reprocess killed at any point, run again, carries on from its record
(superseded/YYYY-MM/<stamp>/reprocess.json) instead of starting another one.
"""

import argparse
import datetime as dt
import getpass
import json
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from bottleneck import cli, identity, lake, layout, lock, preflight, running
from bottleneck.errors import MissingSourceError, PipelineError

# The report's files are moved aside first when a month is re-processed, the receipt first of all,
# so that a reprocess killed midway never leaves a month that looks delivered.
REPORT_ORDER = ("email_receipt", "quality_json")
# A second reprocess of the month waits this long for the first, then is refused naming it.
LOCK_WAIT_SECONDS = 10.0


class MonthRunning(PipelineError):  # noqa: N818 - a public name, caught by callers
    """A run of the month is working on it now: re-processing would pull its files from under it."""

    exit_code = 1


def _stamp(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's UID with no passwd entry
        return f"uid {os.getuid()}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def last_reprocess(month: dt.date) -> tuple[str, dict[str, Any]] | None:
    """The stamp and record of the month's latest re-processing, finished or not."""
    where = layout.folder(month, "superseded")
    for name in reversed(lake.listing(where)):
        stamp, _, file = name.partition("/")
        if file == "reprocess.json":
            return stamp, json.loads(lake.read_text(lake.target(month, "reprocess_record", stamp=stamp)))
    return None


def _save(month: dt.date, stamp: str, record: dict[str, Any]) -> None:
    lake.write_text(lake.target(month, "reprocess_record", stamp=stamp), json.dumps(record, indent=2))


def _report_files(month: dt.date) -> list[str]:
    """The names of the month's report files, the receipt and quality.json first."""
    names = lake.listing(layout.folder(month, "reports"))
    first = [layout.file_name(dataset) for dataset in REPORT_ORDER]
    return [name for name in first if name in names] + [name for name in names if name not in first]


def set_reports_aside(month: dt.date, stamp: str) -> list[str]:
    """Copies the month's reports under superseded/ (never over a copy made before), then deletes them."""
    where = layout.folder(month, "reports")
    names = _report_files(month)
    for name in names:
        copy = lake.target(month, "superseded", stamp=stamp, name=name)
        if not lake.exists(copy):
            lake.write_bytes(copy, lake.read_bytes(lake.file_at(layout.join(where, name))))
    for name in names:
        lake.remove(lake.file_at(layout.join(where, name)))
    return names


def clear_derived(month: dt.date, areas: tuple[str, ...] = ("reports", "staging", "work")) -> None:
    """Deletes the month's derived files; the raw manifest last, so that a run in between is refused (exit 6)."""
    manifest = lake.target(month, "raw_manifest").path
    for area in areas:
        where = layout.folder(month, area)
        for name in _report_files(month) if area == "reports" else lake.listing(where):
            if layout.join(where, name) != manifest:
                lake.remove(lake.file_at(layout.join(where, name)))
    lake.remove(lake.target(month, "raw_manifest"))


def run_month(month: dt.date) -> int:
    """Runs the month as `bottleneck-run RunMonth --month YYYY-MM` would; returns its exit code."""
    try:
        cli.main(["RunMonth", "--month", f"{month:%Y-%m}"])
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else (1 if exit.code else 0)
    return 0


def reprocess(
    month: dt.date,
    reason: str,
    run: Callable[[dt.date], int] = run_month,
    out: Callable[[str], object] = print,
) -> int:
    """Re-runs a month on purpose: its reports set aside under superseded/, staging and work cleared, a run.

    Every step can be repeated: a reprocess killed at any point, run again, carries on from its record
    (superseded/YYYY-MM/<stamp>/reprocess.json) instead of starting another one. A setup that would not
    deliver the month is refused before anything moves (bottleneck.preflight).
    """
    preflight.require_ready(month)
    # The month's reprocess lock is taken before looking for runs, as a run writes its marker before
    # looking at the lock (bottleneck.running): no run starts unseen in between.
    with lock.month_lock(month, running.REPROCESS_LOCK, wait_seconds=LOCK_WAIT_SECONDS):
        return _reprocess_held(month, reason, run, out)


def _reprocess_held(month: dt.date, reason: str, run: Callable[[dt.date], int], out: Callable[[str], object]) -> int:
    me: running.Owner = {"host": socket.gethostname(), "pid": os.getpid()}
    others = running.live_runs(month, besides=me)
    if others:
        names = ", ".join(
            f"{run['host']}:{run['pid']} ({run.get('doing', '?')}, seen {run.get('seen_at')})" for run in others
        )
        raise MonthRunning(
            f"{month:%Y-%m} is being run by {names}; rule 'no re-processing of a running month': "
            f"wait for it to end (a marker under {layout.folder(month, 'locks')} of a run that died "
            "goes stale after an hour, or delete it)"
        )
    new_raw = identity.current_sha256(month)
    absent = [source for source in layout.SOURCES if source not in new_raw]
    if absent:
        raise MissingSourceError(
            f"{month:%Y-%m}: not re-processed, raw exports missing: "
            + ", ".join(lake.target(month, f"raw_{source}").path for source in absent)
        )
    running.mark(month, me, "bottleneck-admin reprocess")
    try:
        last = last_reprocess(month)
        if (
            last
            and last[1].get("finished_at")
            and reason in last[1]["reasons"]
            and last[1].get("new_raw_sha256") == new_raw
        ):
            # The same command again, e.g. after it was killed as it ended: done already, not a second time.
            out(
                f"{month:%Y-%m}: already re-processed for this reason at {last[1]['finished_at']} from the same "
                f"raw exports (superseded/{month:%Y-%m}/{last[0]}/); give another reason to re-process it again"
            )
            return 0
        if last and not last[1].get("finished_at"):
            stamp, record = last
            out(
                f"{month:%Y-%m}: carrying on with the re-processing begun at {record['requested_at']} "
                f"(superseded/{month:%Y-%m}/{stamp}/)"
            )
            if reason not in record["reasons"]:
                record["reasons"].append(reason)
        else:
            now = dt.datetime.now(dt.UTC)
            stamp = _stamp(now)
            record = {
                "month": f"{month:%Y-%m}",
                "reasons": [reason],
                "requested_by": f"{_user()}@{socket.gethostname()}",
                "requested_at": now.isoformat(timespec="seconds"),
                "old_raw_sha256": identity.recorded_sha256(month),
                "new_raw_sha256": new_raw,
            }
        _save(month, stamp, record)
        receipt = lake.record(month, "email_receipt")
        if record.get("moved_at") and receipt and receipt.get("sent_at", "") >= record["moved_at"]:
            out(f"{month:%Y-%m}: already re-reported at {receipt['sent_at']}")
        else:
            if not record.get("moved_at"):
                record["superseded_files"] = set_reports_aside(month, stamp)
                record["moved_at"] = _now()
                _save(month, stamp, record)
                out(f"{month:%Y-%m}: former reports moved to {layout.folder(month, 'superseded')}/{stamp}/")
            clear_derived(month)
            record["cleared_at"] = _now()
            _save(month, stamp, record)
            out(f"{month:%Y-%m}: staging and work cleared; running the month")
            code = run(month)
            if code != 0:
                record.setdefault("failed_runs", []).append({"at": _now(), "exit_code": code})
                _save(month, stamp, record)
                out(f"{month:%Y-%m}: the run exited {code}; fix the cause, then run the same command again")
                return code
        quality = lake.record(month, "quality_json") or {}
        record["new_raw_sha256"] = identity.recorded_sha256(month)
        record["new_report"] = {key: quality.get(key) for key in ("products", "premium", "ordinary", "turnover")}
        record["finished_at"] = _now()
        _save(month, stamp, record)
        out(
            f"{month:%Y-%m}: re-processed: {record['new_report']}; record in "
            f"{lake.target(month, 'reprocess_record', stamp=stamp).path}"
        )
        return 0
    finally:
        running.unmark(month, me)


def reprocess_command(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        print("bottleneck-admin reprocess: --reason must say why the month is re-processed", file=sys.stderr)
        return 2
    return reprocess(args.month, args.reason.strip())
