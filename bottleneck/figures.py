"""A month's figures and classified wines made from its raw exports alone, or the reason there are none.

Another month compares itself with these, so they never depend on whether or when this month ran:
the same exports give the same figures, through the same staging, reconciliation, classification
and gate as the month's own tasks.
"""

import datetime as dt
import hashlib
import json
from typing import Any

import luigi
import pandas as pd

from bottleneck import config, history, lake, layout
from bottleneck.classify import classified_wines
from bottleneck.compare import month_figures
from bottleneck.errors import LakeError, MissingSourceError, PipelineError, QualityGateError
from bottleneck.quality import failures, gate
from bottleneck.reconcile import reconciled
from bottleneck.reference import reference
from bottleneck.staging import staged_table
from bottleneck.xlsx_reader import check_file_size

# The shape of the records MonthFigures writes: a record made by other code is made again, never misread
# (2: the month's profile, for the history checks, and the sha256 of each export, for the stale-upload check).
FIGURES_VERSION = 2


def no_exports(label: str) -> str:
    """Why a month without a single raw export has no figures."""
    return f"{label}: no raw exports in the lake"


def figures_from_raw(
    label: str, raw: dict[str, bytes | None], settings: config.bottleneck
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, float]]:
    """The month's headline figures, classified wines and profile; a PipelineError says why there are none."""
    if all(data is None for data in raw.values()):
        raise MissingSourceError(no_exports(label))
    unusable = [f"{'missing' if data is None else 'empty'} {source}.xlsx" for source, data in raw.items() if not data]
    if unusable:
        raise MissingSourceError(f"{label}: raw exports not ready: {'; '.join(unusable)}")
    exports = {source: data for source, data in raw.items() if data}  # all of them: none is missing or empty
    staged = {
        source: staged_table(source, data, f"{label} {source}.xlsx", settings.max_file_mb, settings.max_unpacked_mb)
        for source, data in exports.items()
    }
    result = reconciled(staged)
    wines = classified_wines(result.products, settings.premium_zscore)
    failed = failures(
        gate(staged, wines, result.rejected_rows, result.turnover, reference(staged), settings.premium_zscore)
    )
    if failed:
        raise QualityGateError(f"{label}: quality gate failed: " + "; ".join(check.name for check in failed))
    return month_figures(label, wines), wines, history.month_profile(result.funnel, wines)


def made_from(month: dt.date) -> dict[str, Any]:
    """What a month's figures are made from, told without reading an export: the size and version the lake
    gives each raw export (None where absent) and the settings that change results."""
    files = {source: lake.target(month, f"raw_{source}") for source in layout.SOURCES}
    raw = {source: lake.stat(file)._asdict() if lake.exists(file) else None for source, file in files.items()}
    return {"raw": raw, "settings": config.result_settings(), "figures_version": FIGURES_VERSION}


def raw_exports(month: dt.date) -> dict[str, bytes | None]:
    """The bytes of each raw export of the month, None where it is absent."""
    files = {source: lake.target(month, f"raw_{source}") for source in layout.SOURCES}
    return {source: lake.read_bytes(file) if lake.exists(file) else None for source, file in files.items()}


def figures_of_month(month: dt.date) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The MonthFigures record of a month (its figures, or the reason there are none) and its classified wines.

    A month that cannot be processed is a recorded reason, never a failure; only a lake that cannot be
    used fails (LakeError), as it would fail any task."""
    label = f"{month:%Y-%m}"
    sources = made_from(month)
    record: dict[str, Any] = {"month": label, "made_from": sources, "figures": None, "reason": None}
    wines = None
    try:
        settings = config.settings()
        for source, stat in sources["raw"].items():
            if stat:  # from the lake's metadata: an export over the limit is not read
                check_file_size(stat["bytes"], f"{label} {source}.xlsx", settings.max_file_mb)
        raw = raw_exports(month)
        # Recorded whatever the month gives: a later month's export that is the same file is a stale upload.
        record["sha256"] = {source: hashlib.sha256(data).hexdigest() for source, data in raw.items() if data}
        record["figures"], wines, record["profile"] = figures_from_raw(label, raw, settings)
    except LakeError:
        raise
    except PipelineError as error:
        record["reason"] = str(error)
    return record, wines


def is_current(month: dt.date, figures: luigi.target.FileSystemTarget) -> bool:
    """Whether a month's figures are made from the exports the lake holds now; a month with no export at all has
    none to make, and is current without them."""
    now = made_from(month)
    if not lake.exists(figures):
        return not any(now["raw"].values())
    return json.loads(lake.read_text(figures))["made_from"] == now


def figures_record(month: dt.date, figures: luigi.target.FileSystemTarget) -> dict[str, Any]:
    """The MonthFigures record of a month; a month without any export has none, and is a gap."""
    if lake.exists(figures):
        return json.loads(lake.read_text(figures))
    return {"month": f"{month:%Y-%m}", "figures": None, "reason": no_exports(f"{month:%Y-%m}")}
