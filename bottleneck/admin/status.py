"""`bottleneck-admin status`: one line a month, read from the lake alone: exports, gate, report, email, last alert."""

import argparse
import datetime as dt
import json
import sys

from bottleneck import identity, lake, layout, running
from bottleneck.months import months_between

# A month in one of these needs nothing from the operator; any other makes `status` exit 1.
FINE = ("done", "running")


def _failed_checks(record: dict) -> list[str]:
    return [
        f"{check['name']}: observed {check.get('observed')}, expected {check.get('expected')}"
        + (f" ({check['detail']})" if check.get("detail") else "")
        for check in record.get("checks", [])
        if check.get("status") == "failed"
    ]


def _last_alert(month: dt.date) -> dict | None:
    where = layout.folder(month, "alerts")
    names = lake.listing(where)
    records = [name for name in names if name.endswith("-alert.json")]
    if not records:
        emls = [name for name in names if name.endswith("-alert.eml")]
        return {"at": emls[-1].split("-alert")[0], "path": emls[-1]} if emls else None
    record = json.loads(lake.read_text(lake.file_at(layout.join(where, records[-1]))))
    return {
        "at": record.get("sent_at"),
        "task": record.get("task"),
        "error": record.get("error"),
        "transport": record.get("transport"),
        "to": record.get("recipients"),
    }


# What MonthFigures writes under a month's work/ for the months after it.
COMPARISON_FILES = {layout.file_name(dataset) for dataset in ("month_figures", "figures_wines")}


def month_status(month: dt.date, now: dt.datetime | None = None) -> dict:
    """What the lake says of one month: its exports, gate, report, email, last alert, and its state."""
    recorded = identity.recorded_sha256(month)
    raw = {
        source: {"present": lake.exists(lake.target(month, f"raw_{source}")), "sha256_recorded": source in recorded}
        for source in layout.SOURCES
    }
    failed_gate = lake.record(month, "quality_failed")
    passed_gate = lake.exists(lake.target(month, "quality_json")) or lake.exists(lake.target(month, "quality"))
    gate = {
        "status": "passed" if passed_gate else "failed" if failed_gate else None,
        "failed": _failed_checks(failed_gate) if failed_gate and not passed_gate else [],
    }
    receipt = lake.record(month, "email_receipt")
    email = None
    if receipt:
        email = {
            "transport": receipt.get("transport"),
            "at": receipt.get("sent_at"),
            "to": receipt.get("recipients"),
            "path": receipt.get("path"),
        }
    report = lake.exists(lake.target(month, "quality_json"))
    alert = _last_alert(month)
    runs = running.live_runs(month, now)
    # The figures a later month made of this one, to compare itself with, are no sign that this one started.
    started = any(
        name not in COMPARISON_FILES
        for area in ("staging", "work", "reports")
        for name in lake.listing(layout.folder(month, area))
    )
    if runs:
        state = "running"
    elif receipt:
        state = "done"
    elif failed_gate or alert:
        state = "failed"
    elif started:
        state = "incomplete"
    elif all(item["present"] for item in raw.values()):
        state = "waiting"
    else:
        state = "missing"
    return {
        "month": f"{month:%Y-%m}",
        "state": state,
        "raw": raw,
        "gate": gate,
        "report": report,
        "email": email,
        "last_alert": alert,
        "runs": [f"{run['host']}:{run['pid']}" for run in runs],
    }


def months_in(area: str) -> list[dt.date]:
    """Every month that has a folder under raw/, reports/, work/... (an area of layout.MONTH_FOLDERS)."""
    found = set()
    for name in lake.listing(layout.area(area)):
        parts = name.replace("-", "/").split("/")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            try:
                found.add(dt.date(int(parts[0]), int(parts[1]), 1))
            except ValueError:
                continue
    return sorted(found)


def lake_months() -> list[dt.date]:
    """Every month the lake holds anything of."""
    found: set[dt.date] = set()
    for area in ("raw", "work", "reports", "alerts"):
        found.update(months_in(area))
    return sorted(found)


def status_line(status: dict) -> str:
    raw = status["raw"]
    present = [source for source in layout.SOURCES if raw[source]["present"]]
    recorded = [source for source in layout.SOURCES if raw[source]["sha256_recorded"]]
    parts = [
        f"{status['month']}  {status['state']:<10}",
        f"raw {','.join(present) or 'none'}"
        + (f" (sha256 recorded: {','.join(recorded)})" if recorded else " (sha256 not recorded)"),
    ]
    gate = status["gate"]
    parts.append(
        {
            "passed": "gate passed",
            "failed": "gate FAILED: " + "; ".join(gate["failed"] or ["(no detail)"]),
            None: "gate -",
        }[gate["status"]]
    )
    parts.append("report written" if status["report"] else "report -")
    email = status["email"]
    if email is None:
        parts.append("email -")
    elif email["transport"] == "eml":
        parts.append(f"email written to the lake, not sent (delivery = lake) {email['at']} ({email['path']})")
    else:
        parts.append(f"email sent {email['at']} to {', '.join(email['to'] or [])}")
    alert = status["last_alert"]
    parts.append(f"last alert {alert['at']}: {alert.get('task') or alert.get('path')}" if alert else "last alert -")
    if status["runs"]:
        parts.append(f"running in {', '.join(status['runs'])}")
    return "  |  ".join(parts)


def status_command(args: argparse.Namespace) -> int:
    first, last = args.first, args.last
    if first is None or last is None:
        known = lake_months()
        if not known:
            print(f"no month in the lake {layout.lake_url()}: give --from and --to", file=sys.stderr)
            return 1
        first, last = first or known[0], last or known[-1]
    statuses = [month_status(month) for month in months_between(first, last)]
    if args.json:
        print(json.dumps(statuses, indent=2))
    else:
        for status in statuses:
            print(status_line(status))
    unfinished = [status["month"] for status in statuses if status["state"] not in FINE]
    if unfinished:
        print(f"{len(unfinished)} month(s) neither done nor running: {', '.join(unfinished)}", file=sys.stderr)
    return 1 if unfinished else 0
