"""A month's identity: the raw exports and settings its outputs are made from, recorded once, and what changed since.

The manifest (work/YYYY/MM/raw_manifest.json) records the size, version and sha256 of each export and
the settings that change results when a month starts; quality.json keeps a copy. A month is never
finished on other inputs: a replaced export or a changed setting is refused, naming the way to
re-process the month on purpose.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Callable

from bottleneck import config, lake, layout
from bottleneck.errors import InvalidInputError, MissingSourceError
from bottleneck.xlsx_reader import check_file_size


def reprocess_command(month: dt.date) -> str:
    """How an operator re-processes a month on purpose, as every refusal of changed inputs says it."""
    return f"bottleneck-admin reprocess --month {month:%Y-%m} --reason TEXT"


def month_records(month: dt.date) -> list[tuple[str, dict]]:
    """(where, record) of what the month's outputs were made from: the manifest (work/), quality.json (reports/)."""
    records = []
    for dataset, key in (("raw_manifest", None), ("quality_json", "raw_files")):
        file = lake.target(month, dataset)
        if lake.exists(file):
            record = json.loads(lake.read_text(file))
            records.append((file.path, record.get(key, {}) if key else record))
    return records


def recorded_sha256(month: dt.date) -> dict[str, str]:
    """The sha256 of each raw export as recorded when the month ran: the report's record, else the manifest's."""
    records = [record for _, record in month_records(month) if record]  # the manifest's, then the report's
    files = records[-1] if records else {}
    return {source: files[source]["sha256"] for source in layout.SOURCES if source in files}


def current_sha256(month: dt.date) -> dict[str, str]:
    """The sha256 of each raw export now in the lake."""
    found = {}
    for source in layout.SOURCES:
        file = lake.target(month, f"raw_{source}")
        if lake.exists(file):
            found[source] = lake.sha256(file)
    return found


def input_changes(month: dt.date, hashed: bool) -> list[str]:
    """What differs from the month's records: the result settings, and the raw exports (hashed=False: by the
    size and version the lake reports; hashed=True: those whose version changed, by sha256)."""
    records = month_records(month)
    changes = []
    for name, value in config.result_settings().items():
        recorded = {where: record["settings"][name] for where, record in records if name in record.get("settings", {})}
        if recorded and set(recorded.values()) != {value}:
            started = next(iter(recorded.values()))
            changes.append(
                f"[bottleneck] {name} is {value!r}, but the month was started with {started!r} (recorded in "
                f"{', '.join(recorded)}); rule 'a month's results come from one set of settings': its outputs are "
                f"kept and nothing is mixed with them. Set {name} = {started!r} again to finish the month, or "
                f"re-process it with the new value: {reprocess_command(month)}"
            )
    replaced = []
    for source in layout.SOURCES:
        raw = lake.target(month, f"raw_{source}")
        recorded_files = {where: files[source] for where, files in records if source in files}
        if not recorded_files or not lake.exists(raw):
            continue
        now = lake.stat(raw)
        if all(
            entry.get("version") == now.version and entry["bytes"] == now.bytes for entry in recorded_files.values()
        ):
            continue
        if not hashed:
            replaced.append(raw.path)
            continue
        actual = lake.sha256(raw)
        if {entry["sha256"] for entry in recorded_files.values()} != {actual}:
            replaced.append(
                f"{raw.path} is now sha256 {actual[:16]}..., not as recorded in {', '.join(recorded_files)}"
            )
    if replaced:
        changes.append(
            f"raw export replaced after the month was processed: {'; '.join(replaced)}; rule 'raw exports are "
            "fixed once a month starts': the outputs are kept and nothing is mixed with them. To re-process "
            f"the month on purpose: {reprocess_command(month)}"
        )
    return changes


def manifest(month: dt.date, progress: Callable[[int, str], None]) -> dict:
    """The month's identity, to record as it starts: each export's size, version and sha256, and the result
    settings. Fails once, naming every missing or empty export, and refuses one over max_file_mb from the size
    the lake reports, before a byte of it is read."""
    label = f"{month:%Y-%m}"
    files = {source: lake.target(month, f"raw_{source}") for source in layout.SOURCES}
    absent = [file.path for file in files.values() if not lake.exists(file)]
    stats = {source: lake.stat(file) for source, file in files.items() if file.path not in absent}
    empty = [files[source].path for source, stat in stats.items() if stat.bytes == 0]
    if absent or empty:
        problems = [f"missing {path}" for path in absent] + [f"empty {path}" for path in empty]
        raise MissingSourceError(f"{label}: raw exports not ready: {'; '.join(problems)}")
    for source, stat in stats.items():
        check_file_size(stat.bytes, f"{label} {source}.xlsx", config.settings().max_file_mb)
    record: dict = {}
    for done, (source, file) in enumerate(files.items()):
        progress(100 * done // len(files), f"hashing {source}.xlsx ({stats[source].bytes:,} bytes)")
        record[source] = {
            "path": file.path,
            "bytes": stats[source].bytes,
            "version": stats[source].version,
            "sha256": lake.sha256(file),
        }
    record["settings"] = config.result_settings()
    progress(100, f"{len(files)} raw exports recorded ({sum(stat.bytes for stat in stats.values()):,} bytes)")
    return record


def export_as_recorded(month: dt.date, source: str, recorded: dict) -> bytes:
    """The bytes of one raw export, refused (InvalidInputError) unless they are those the manifest recorded;
    a file swapped for a larger one is refused from its size, unread."""
    file = lake.target(month, f"raw_{source}")
    changed = InvalidInputError(
        f"{month:%Y-%m} {source}.xlsx: changed since the month's manifest was recorded; rule 'raw exports are fixed "
        f"once a month starts'; to re-process the month on purpose: {reprocess_command(month)}"
    )
    if lake.stat(file).bytes != recorded["bytes"]:
        raise changed
    data = lake.read_bytes(file)
    if hashlib.sha256(data).hexdigest() != recorded["sha256"]:
        raise changed
    return data
