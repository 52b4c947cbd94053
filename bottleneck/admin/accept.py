"""`bottleneck-admin accept`: a month held by a plausibility check released on purpose, the reason kept in the lake.

It writes a record for each check released and nothing else: no data is edited, and the month is
reported by its next run, which shows each released check as accepted, with its reason. A check of the
month's own consistency (rows accounted for, links, turnover by two engines) is never released: its
cause is in the exports, which are corrected and the month re-processed.
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

from bottleneck import identity, lake, releases
from bottleneck.errors import PipelineError
from bottleneck.mail.message import RERUN
from bottleneck.quality import PLAUSIBILITY


class ReleaseRefusedError(PipelineError):
    """The release asked for cannot be made: nothing is written."""

    exit_code = 2


def _operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container's UID with no passwd entry
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def refusal(month: dt.date, key: str, checks: dict[str, dict[str, Any]]) -> str:
    """Why a check of the month's failed gate record cannot be released ('' when it can)."""
    check = checks.get(key)
    if check is None:
        held = ", ".join(name for name, one in checks.items() if one["status"] == "failed") or "none"
        return f"'{key}' is not a check of {month:%Y-%m} (the checks that hold it: {held})"
    if check.get("kind") != PLAUSIBILITY:
        return (
            f"'{key}' ({check['name']}) checks the month's own consistency: it is never released. Correct the "
            f"exports in the lake, then re-process the month: {identity.reprocess_command(month)}"
        )
    if check["status"] != "failed":
        return f"'{key}' ({check['name']}) does not hold {month:%Y-%m}: its status is {check['status']}"
    return ""


def accept(month: dt.date, keys: list[str], reason: str, out: Callable[[str], None] = print) -> int:
    """Records the release of each check (all of them or none) that holds the month; returns the exit code."""
    label = f"{month:%Y-%m}"
    gate = lake.record(month, "quality_failed")
    if gate is None:
        passed = lake.exists(lake.target(month, "quality"))
        raise ReleaseRefusedError(
            f"{label} is not held by its gate: "
            + ("it passed" if passed else f"run it first: {RERUN.format(month=label)}")
        )
    checks = {check["key"]: check for check in gate["checks"]}
    wanted = list(dict.fromkeys(keys))
    refusals = [why for key in wanted if (why := refusal(month, key, checks))]
    if refusals:
        raise ReleaseRefusedError(f"{label}: nothing released: " + "; ".join(refusals))
    now = dt.datetime.now(dt.UTC)
    exports = releases.raw_sha256(lake.record(month, "raw_manifest") or {})
    for key in wanted:
        check = checks[key]
        record = {
            "month": label,
            "check": key,
            "name": check["name"],
            "observed": check["observed"],
            "expected": check["expected"],
            "detail": check["detail"],
            "reason": reason,
            "by": _operator(),
            "at": now.isoformat(timespec="seconds"),
            "raw_sha256": exports,
        }
        target = lake.target(month, "acceptance", stamp=now.strftime("%Y%m%dT%H%M%S%fZ"), name=key)
        lake.write_text(target, json.dumps(record, indent=2, ensure_ascii=False))
        out(f"{label}: {key} released ({check['detail'] or check['name']}); record in {target.path}")
    still = [key for key, check in checks.items() if check["status"] == "failed" and key not in wanted]
    if still:
        out(f"{label} is still held by: {', '.join(still)}")
    else:
        out(f"{label}: run the month again to report it: {RERUN.format(month=label)}")
    return 0


def accept_command(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        print("bottleneck-admin accept: --reason must say why the month is released", file=sys.stderr)
        return 2
    return accept(args.month, args.check, args.reason.strip())
