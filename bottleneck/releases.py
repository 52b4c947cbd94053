"""An operator's deliberate release of a month held by a plausibility check: the records kept in the lake, and how
the month's next run applies them.

A release is bound to what it released: the check, the value it observed and the raw exports it was
observed on. The same month from other exports, or a check that now observes another value, is held
again, and says that an earlier release was for something else. A check of the month's own consistency
is never released.
"""

import datetime as dt
import json
from typing import Any

from bottleneck import lake, layout
from bottleneck.quality import PLAUSIBILITY, Check


def records(month: dt.date) -> list[dict[str, Any]]:
    """The month's release records, oldest first (their names start with the time they were made)."""
    where = layout.folder(month, "accepted")
    return [
        json.loads(lake.read_text(lake.file_at(layout.join(where, name))))
        for name in lake.listing(where)
        if name.endswith(".json")
    ]


def raw_sha256(manifest: dict[str, Any]) -> dict[str, str]:
    """The sha256 of each raw export the month's manifest recorded: what a release was given for."""
    return {source: manifest[source]["sha256"] for source in layout.SOURCES if source in manifest}


def released(checks: list[Check], releases: list[dict[str, Any]], exports: dict[str, str]) -> list[Check]:
    """The checks, each plausibility check that did not pass marked accepted where the latest release of it was
    for the value it observes now, on the same raw exports (`exports`, their sha256 by source)."""
    for check in checks:
        if check.passed or check.kind != PLAUSIBILITY:
            continue
        latest = next((release for release in reversed(releases) if release["check"] == check.key), None)
        if latest is None:
            continue
        if latest["observed"] == check.observed and latest["raw_sha256"] == exports:
            check.accepted = {key: latest[key] for key in ("by", "at", "reason")}
        else:
            same = latest["observed"] == check.observed
            other = "other raw exports" if same else f"{latest['observed']}, not {check.observed}"
            check.detail += f" (released on {latest['at']} for {other}: not applied)"
    return checks
