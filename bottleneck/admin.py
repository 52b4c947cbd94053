"""`bottleneck-admin`: the operator's commands: each month's status, re-processing a month, and a check of the setup.

    bottleneck-admin status [--from YYYY-MM] [--to YYYY-MM] [--json]
    bottleneck-admin reprocess --month YYYY-MM --reason TEXT
    bottleneck-admin check

Status and re-processing read and write the lake alone (no scheduler needed); the logic lives in plain
functions over the lake, so that they work the same on S3 and on a local folder.
"""

import argparse
import datetime as dt
import getpass
import json
import os
import posixpath
import socket
import sys
import uuid

import botocore.exceptions
import luigi
import luigi.configuration

import bottleneck
from bottleneck import alerts, cli, config, lake, mail, running
from bottleneck.errors import DeliveryError, LakeError, MissingSourceError, PipelineError
from bottleneck.tasks import ReportMonth, month_records

# A month in one of these needs nothing from the operator; any other makes `status` exit 1.
FINE = ("done", "running")
# The report's files are moved aside first when a month is re-processed, the receipt first of all,
# so that a reprocess killed midway never leaves a month that looks delivered.
REPORT_ORDER = ("email_receipt", "quality_json")


class MonthRunning(PipelineError):
    """A run of the month is working on it now: re-processing would pull its files from under it."""

    exit_code = 1


def parse_month(text: str) -> dt.date:
    try:
        return ReportMonth().normalize(luigi.MonthParameter().parse(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {error}" if "outside" in str(error) else f"{text!r} is not a month YYYY-MM"
        ) from None


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def _json_of(month: dt.date, dataset: str) -> dict | None:
    file = lake.target(month, dataset)
    return json.loads(lake.read_text(file)) if lake.exists(file) else None


def recorded_raw(month: dt.date) -> dict[str, str]:
    """The sha256 of each raw export as recorded when the month ran: the report's record, else the manifest's."""
    records = [record for _, record in month_records(month) if record]  # the manifest's, then the report's
    files = records[-1] if records else {}
    return {source: files[source]["sha256"] for source in lake.SOURCES if source in files}


def raw_now(month: dt.date) -> dict[str, str]:
    """The sha256 of each raw export now in the lake."""
    found = {}
    for source in lake.SOURCES:
        file = lake.target(month, f"raw_{source}")
        if lake.exists(file):
            found[source] = lake.sha256(file)
    return found


def _failed_checks(record: dict) -> list[str]:
    return [
        f"{check['name']}: observed {check.get('observed')}, expected {check.get('expected')}"
        + (f" ({check['detail']})" if check.get("detail") else "")
        for check in record.get("checks", [])
        if check.get("status") == "failed"
    ]


def _last_alert(month: dt.date) -> dict | None:
    where = lake.folder(month, "alerts")
    names = lake.listing(where)
    records = [name for name in names if name.endswith("-alert.json")]
    if not records:
        emls = [name for name in names if name.endswith("-alert.eml")]
        return {"at": emls[-1].split("-alert")[0], "path": emls[-1]} if emls else None
    record = json.loads(lake.read_text(lake.file_at(lake.join(where, records[-1]))))
    return {
        "at": record.get("sent_at"),
        "task": record.get("task"),
        "error": record.get("error"),
        "transport": record.get("transport"),
        "to": record.get("recipients"),
    }


# What MonthFigures writes under a month's work/ for the months after it (lake.LAYOUT's file names).
COMPARISON_FILES = {posixpath.basename(lake.LAYOUT[dataset]) for dataset in ("month_figures", "figures_wines")}


def month_status(month: dt.date, now: dt.datetime | None = None) -> dict:
    """What the lake says of one month: its exports, gate, report, email, last alert, and its state."""
    recorded = recorded_raw(month)
    raw = {
        source: {"present": lake.exists(lake.target(month, f"raw_{source}")), "sha256_recorded": source in recorded}
        for source in lake.SOURCES
    }
    failed_gate = _json_of(month, "quality_failed")
    passed_gate = lake.exists(lake.target(month, "quality_json")) or lake.exists(lake.target(month, "quality"))
    gate = {
        "status": "passed" if passed_gate else "failed" if failed_gate else None,
        "failed": _failed_checks(failed_gate) if failed_gate and not passed_gate else [],
    }
    receipt = _json_of(month, "email_receipt")
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
        for name in lake.listing(lake.folder(month, area))
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


def lake_months() -> list[dt.date]:
    """Every month the lake holds anything of."""
    found = set()
    for area in ("raw", "work", "reports", "alerts"):
        found.update(lake.months_in(area))
    return sorted(found)


def status_line(status: dict) -> str:
    raw = status["raw"]
    present = [source for source in lake.SOURCES if raw[source]["present"]]
    recorded = [source for source in lake.SOURCES if raw[source]["sha256_recorded"]]
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
        parts.append(f"email written as .eml {email['at']} ({email['path']})")
    else:
        parts.append(f"email sent {email['at']} to {', '.join(email['to'] or [])}")
    alert = status["last_alert"]
    parts.append(f"last alert {alert['at']}: {alert.get('task') or alert.get('path')}" if alert else "last alert -")
    if status["runs"]:
        parts.append(f"running in {', '.join(status['runs'])}")
    return "  |  ".join(parts)


def status_command(args) -> int:
    first, last = args.first, args.last
    if first is None or last is None:
        known = lake_months()
        if not known:
            print(f"no month in the lake {lake.lake_url()}: give --from and --to", file=sys.stderr)
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


# ---------------------------------------------------------------------------------------------------------------
# Re-processing


def _stamp(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's UID with no passwd entry
        return f"uid {os.getuid()}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def last_reprocess(month: dt.date) -> tuple[str, dict] | None:
    """The stamp and record of the month's latest re-processing, finished or not."""
    where = lake.folder(month, "superseded")
    for name in reversed(lake.listing(where)):
        stamp, _, file = name.partition("/")
        if file == "reprocess.json":
            return stamp, json.loads(lake.read_text(lake.target(month, "reprocess_record", stamp=stamp)))
    return None


def _save(month: dt.date, stamp: str, record: dict) -> None:
    lake.write_text(lake.target(month, "reprocess_record", stamp=stamp), json.dumps(record, indent=2))


def _report_files(month: dt.date) -> list[str]:
    """The names of the month's report files, the receipt and quality.json first."""
    names = lake.listing(lake.folder(month, "reports"))
    first = [lake.LAYOUT[key].rsplit("/", 1)[1] for key in REPORT_ORDER]
    return [name for name in first if name in names] + [name for name in names if name not in first]


def set_reports_aside(month: dt.date, stamp: str) -> list[str]:
    """Copies the month's reports under superseded/ (never over a copy made before), then deletes them."""
    where = lake.folder(month, "reports")
    names = _report_files(month)
    for name in names:
        copy = lake.target(month, "superseded", stamp=stamp, name=name)
        if not lake.exists(copy):
            lake.write_bytes(copy, lake.read_bytes(lake.file_at(lake.join(where, name))))
    for name in names:
        lake.remove(lake.file_at(lake.join(where, name)))
    return names


def clear_derived(month: dt.date, areas=("reports", "staging", "work")) -> None:
    """Deletes the month's derived files; the raw manifest last, so that a run in between is refused (exit 6)."""
    manifest = lake.target(month, "raw_manifest").path
    for area in areas:
        where = lake.folder(month, area)
        for name in _report_files(month) if area == "reports" else lake.listing(where):
            if lake.join(where, name) != manifest:
                lake.remove(lake.file_at(lake.join(where, name)))
    lake.remove(lake.target(month, "raw_manifest"))


def run_month(month: dt.date) -> int:
    """Runs the month as `bottleneck-run RunMonth --month YYYY-MM` would; returns its exit code."""
    try:
        cli.main(["RunMonth", "--month", f"{month:%Y-%m}"])
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else (1 if exit.code else 0)
    return 0


def reprocess(month: dt.date, reason: str, run=run_month, out=print) -> int:
    """Re-runs a month on purpose: its reports set aside under superseded/, staging and work cleared, a run.

    Every step can be repeated: a reprocess killed at any point, run again, carries on from its record
    (superseded/YYYY-MM/<stamp>/reprocess.json) instead of starting another one.
    """
    me = {"host": socket.gethostname(), "pid": os.getpid()}
    others = running.live_runs(month, besides=me)
    if others:
        names = ", ".join(
            f"{run['host']}:{run['pid']} ({run.get('doing', '?')}, seen {run.get('seen_at')})" for run in others
        )
        raise MonthRunning(
            f"{month:%Y-%m} is being run by {names}; rule 'no re-processing of a running month': "
            f"wait for it to end (a marker under {lake.folder(month, 'locks')} of a run that died "
            "goes stale after an hour, or delete it)"
        )
    new_raw = raw_now(month)
    absent = [source for source in lake.SOURCES if source not in new_raw]
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
            now = dt.datetime.now(dt.timezone.utc)
            stamp = _stamp(now)
            record = {
                "month": f"{month:%Y-%m}",
                "reasons": [reason],
                "requested_by": f"{_user()}@{socket.gethostname()}",
                "requested_at": now.isoformat(timespec="seconds"),
                "old_raw_sha256": recorded_raw(month),
                "new_raw_sha256": new_raw,
            }
        _save(month, stamp, record)
        receipt = _json_of(month, "email_receipt")
        if record.get("moved_at") and receipt and receipt.get("sent_at", "") >= record["moved_at"]:
            out(f"{month:%Y-%m}: already re-reported at {receipt['sent_at']}")
        else:
            if not record.get("moved_at"):
                record["superseded_files"] = set_reports_aside(month, stamp)
                record["moved_at"] = _now()
                _save(month, stamp, record)
                out(f"{month:%Y-%m}: former reports moved to {lake.folder(month, 'superseded')}/{stamp}/")
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
        quality = _json_of(month, "quality_json") or {}
        record["new_raw_sha256"] = recorded_raw(month)
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


def reprocess_command(args) -> int:
    if not args.reason.strip():
        print("bottleneck-admin reprocess: --reason must say why the month is re-processed", file=sys.stderr)
        return 2
    return reprocess(args.month, args.reason.strip())


# ---------------------------------------------------------------------------------------------------------------
# Checking the setup


def check_lake() -> str:
    probe = lake.target(config.current_month(), "check_probe", token=uuid.uuid4().hex)
    try:
        lake.write_text(probe, "bottleneck-admin check\n")
        if lake.read_text(probe) != "bottleneck-admin check\n":
            raise LakeError(f"{probe.path} read back differs from what was written")
        lake.remove(probe)
    except PipelineError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to write, read or delete: exit 9, named
        raise LakeError(
            f"{probe.path} could not be written, read and removed: {type(error).__name__}: {error}"
        ) from None
    return f"{lake.lake_url()} reachable, writable ({probe.path} written, read, removed)"


def check_smtp() -> str:
    settings = mail.smtp_settings()
    if not settings.host:
        return "no [smtp] host: emails are written to the lake as .eml"
    try:
        with mail.connected(settings) as connection:
            connection.noop()
    except Exception as error:  # noqa: BLE001 - told in the words of the delivery errors
        raise DeliveryError(mail.describe(error, settings)) from None
    tls = "no TLS ([smtp] no_tls = true)" if settings.no_tls else "TLS certificate and host name verified"
    login = f", logged in as {settings.username}" if settings.username and settings.password else ""
    return f"{settings.server} answers, {tls}{login}"


def check_scheduler() -> str:
    url, _ = cli.central_scheduler(["RunMonth"])
    if url is None:
        return "none: runs use the local scheduler"
    if not cli.reachable(url):
        raise PipelineError(f"central scheduler {url} cannot be reached ([core] scheduler_host, scheduler_port)")
    return f"{url} answers"


def check_pushgateway() -> str:
    url = config.settings().pushgateway
    if not url:
        return "none ([bottleneck] pushgateway empty): no run metrics"
    if not cli.reachable(url.rstrip("/") + "/-/healthy"):
        raise PipelineError(f"[bottleneck] pushgateway {url} cannot be reached")
    return f"{url} answers"


CHECKS = {"lake": check_lake, "smtp": check_smtp, "scheduler": check_scheduler, "pushgateway": check_pushgateway}


def check_command(args) -> int:
    cfg = luigi.configuration.get_config()
    print(
        f"bottleneck {bottleneck.__version__}; python {sys.version.split()[0]}; "
        f"current month {config.current_month():%Y-%m}"
    )
    print(
        f"report receivers: {cfg.get('email', 'receiver', '') or '(none)'}; "
        f"alert receivers: {', '.join(alerts.receivers()) or '(none)'}"
    )
    code = 0
    for name, check in CHECKS.items():
        try:
            print(f"ok      {name}: {check()}")
        except Exception as error:  # noqa: BLE001 - every check is run and reported
            print(f"FAILED  {name}: {mail.smtp_settings().redact(str(error))}")
            code = code or getattr(error, "exit_code", 1)
    return code


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="bottleneck-admin", description=__doc__.split("\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    status = commands.add_parser(
        "status", help="one line per month, read from the lake; exit 1 when a month is neither done nor running"
    )
    status.add_argument(
        "--from", dest="first", type=parse_month, metavar="YYYY-MM", help="first month (default: the lake's first)"
    )
    status.add_argument(
        "--to", dest="last", type=parse_month, metavar="YYYY-MM", help="last month (default: the lake's last)"
    )
    status.add_argument("--json", action="store_true", help="one JSON list, for machines")
    status.set_defaults(handler=status_command)
    again = commands.add_parser(
        "reprocess", help="set a month's reports aside under superseded/, clear its staging and work, run it again"
    )
    again.add_argument("--month", type=parse_month, required=True, metavar="YYYY-MM", help="YYYY-MM")
    again.add_argument("--reason", required=True, help="why (kept in superseded/YYYY-MM/<time>/reprocess.json)")
    again.set_defaults(handler=reprocess_command)
    check = commands.add_parser("check", help="configuration and connectivity: lake, SMTP, scheduler, pushgateway")
    check.set_defaults(handler=check_command)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        code = args.handler(args)
    except PipelineError as error:
        print(f"bottleneck-admin {args.command}: {mail.smtp_settings().redact(str(error))}", file=sys.stderr)
        code = error.exit_code
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError) as error:
        # A lake refused (no such bucket, no permission) or a local folder not usable: unusable, exit 9.
        print(
            f"bottleneck-admin {args.command}: lake {config.lake_url()} unusable: {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        code = LakeError.exit_code
    sys.exit(code)


if __name__ == "__main__":
    main()
