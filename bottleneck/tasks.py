"""The monthly task tree, from the three raw exports in the lake to the delivered report.

Tasks are thin: each loads its inputs from the lake, calls a pure function and writes its output
through a lake target, so a month resumes where it stopped, on any machine that reaches the lake.
"""

import datetime as dt
import hashlib
import json
from decimal import Decimal

import luigi

from bottleneck import config, excel, lake, lock, mail
from bottleneck.classify import ORDINARY, PREMIUM, classified_wines, premium_price_floor
from bottleneck.compare import HISTORY_MONTHS, changes, comparison, month_figures, months_before
from bottleneck.deliverables import deliverable_checks
from bottleneck.errors import InvalidInputError, LakeError, MissingSourceError, PipelineError, QualityGateError
from bottleneck.figures import figures_from_raw, no_exports
from bottleneck.quality import Check, failures, gate, gate_record, quality_record
from bottleneck.reconcile import reconciled
from bottleneck.reference import reference
from bottleneck.report import changes_csv, rejected_csv, report_workbook, wines_csv
from bottleneck.staging import staged_table
from bottleneck.tables import parquet_bytes, parquet_files, table_from_parquet

EARLIEST_MONTH = dt.date(2000, 1, 1)


CURRENT_MONTH = "current"  # the default of --month: read when a task is made (a run starts), not at import


class ReportMonth(luigi.MonthParameter):
    """A YYYY-MM month between 2000-01 and next year, refusing anything else at parse time."""

    def normalize(self, value):
        if value == CURRENT_MONTH:
            value = config.current_month()
        month = super().normalize(value)
        if month is not None:
            latest = dt.date(dt.date.today().year + 1, 12, 1)
            if not EARLIEST_MONTH <= month <= latest:
                raise ValueError(f"month {month:%Y-%m} is outside {EARLIEST_MONTH:%Y-%m}..{latest:%Y-%m}")
        return month


def typed_completeness(task: luigi.Task, check) -> bool:
    """check(); when it cannot tell (the lake unusable or unreachable), its error is also raised as a FAILURE
    event, so it is alerted and exits with its own code (9) as a failure in run() would, instead of a bare
    scheduling error."""
    try:
        return check()
    except Exception as error:
        task.trigger_event(luigi.Event.FAILURE, task, error)
        raise


def report_progress(task: luigi.Task, percent: int, message: str) -> None:
    """Shown beside the task in the visualiser while it runs, and kept there once it is done."""
    if task.set_status_message:  # set by Luigi's worker only while the task runs
        task.set_progress_percentage(percent)
        task.set_status_message(message)


class MonthInputs(luigi.Task):
    """The check that the month's raw exports and result settings are those its outputs were made from.

    No output: every task of the month requires it, and RunMonth too, so no task runs, and no month
    is reported done, on other inputs. complete() is cheap: the month's records against the settings
    and what the lake says of each export (size, version), no byte read. Only when an export's
    version changed does run() read it, hashing it in chunks, and refuse it if its sha256 changed.
    """

    month = ReportMonth()

    def complete(self) -> bool:
        return typed_completeness(self, lambda: not month_input_changes(self.month, hashed=False))

    def run(self):
        changes = month_input_changes(self.month, hashed=True)
        if changes:
            raise InvalidInputError(f"{self.month:%Y-%m}: {'; '.join(changes)}")
        report_progress(self, 100, f"{self.month:%Y-%m}: raw exports rewritten with the same content")


class MonthTask(luigi.Task):
    month = ReportMonth(default=CURRENT_MONTH, description="The month to report, YYYY-MM.")

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"

    def target(self, dataset: str) -> luigi.target.FileSystemTarget:
        return lake.target(self.month, dataset)

    def _requires(self):
        # Not an input of the task (self.input() is unchanged): it only has to pass before the task runs.
        return [*super()._requires(), MonthInputs(month=self.month)]

    def complete(self) -> bool:
        return typed_completeness(self, super().complete)

    def progress(self, percent: int, message: str) -> None:
        report_progress(self, percent, f"{self.label}: {message}")


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


def month_input_changes(month: dt.date, hashed: bool) -> list[str]:
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
    for source in lake.SOURCES:
        raw = lake.target(month, f"raw_{source}")
        recorded = {where: files[source] for where, files in records if source in files}
        if not recorded or not lake.exists(raw):
            continue
        now = lake.stat(raw)
        if all(entry.get("version") == now.version and entry["bytes"] == now.bytes for entry in recorded.values()):
            continue
        if not hashed:
            replaced.append(raw.path)
            continue
        actual = lake.sha256(raw)
        if {entry["sha256"] for entry in recorded.values()} != {actual}:
            replaced.append(f"{raw.path} is now sha256 {actual[:16]}..., not as recorded in {', '.join(recorded)}")
    if replaced:
        changes.append(
            f"raw export replaced after the month was processed: {'; '.join(replaced)}; rule 'raw exports are "
            "fixed once a month starts': the outputs are kept and nothing is mixed with them. To re-process "
            f"the month on purpose: {reprocess_command(month)}"
        )
    return changes


class RawExport(luigi.ExternalTask):
    """One raw export of the month, dropped in the lake by the merchant's systems."""

    month = ReportMonth()
    source = luigi.ChoiceParameter(choices=lake.SOURCES)

    def output(self):
        return lake.target(self.month, f"raw_{self.source}")


class RawManifest(MonthTask):
    """Fails fast, naming every missing or empty export and refusing one over the size limit before reading it;
    records the size, version and sha256 of each, and the settings that change results (the month's identity)."""

    def output(self):
        return self.target("raw_manifest")

    def run(self):
        files = {source: RawExport(month=self.month, source=source).output() for source in lake.SOURCES}
        absent = [file.path for file in files.values() if not lake.exists(file)]
        stats = {source: lake.stat(file) for source, file in files.items() if file.path not in absent}
        empty = [files[source].path for source, stat in stats.items() if stat.bytes == 0]
        if absent or empty:
            problems = [f"missing {path}" for path in absent] + [f"empty {path}" for path in empty]
            raise MissingSourceError(f"{self.label}: raw exports not ready: {'; '.join(problems)}")
        for source, stat in stats.items():
            # From the lake's metadata: an upload far over the limit is refused before a byte of it is read.
            excel.check_file_size(stat.bytes, f"{self.label} {source}.xlsx", config.settings().max_file_mb)
        manifest = {}
        for done, (source, file) in enumerate(files.items()):
            self.progress(100 * done // len(files), f"hashing {source}.xlsx ({stats[source].bytes:,} bytes)")
            manifest[source] = {
                "path": file.path,
                "bytes": stats[source].bytes,
                "version": stats[source].version,
                "sha256": lake.sha256(file),
            }
        manifest["settings"] = config.result_settings()
        lake.write_text(self.output(), json.dumps(manifest, indent=2))
        self.progress(100, f"{len(files)} raw exports recorded ({sum(stat.bytes for stat in stats.values()):,} bytes)")


class StagedExport(MonthTask):
    """One raw export as a typed table that passed its Pandera schema."""

    source = None  # set by each subclass: the three are distinct tasks in the graph

    def requires(self):
        return {"manifest": RawManifest(month=self.month), "raw": RawExport(month=self.month, source=self.source)}

    def output(self):
        return self.target(f"staged_{self.source}")

    def run(self):
        recorded = json.loads(lake.read_text(self.input()["manifest"]))[self.source]
        file = f"{self.label} {self.source}.xlsx"
        changed = InvalidInputError(
            f"{file}: changed since the month's manifest was recorded; rule 'raw exports "
            f"are fixed once a month starts'; to re-process the month on purpose: "
            f"{reprocess_command(self.month)}"
        )
        # The size first, from the lake: a file swapped for a larger one since the manifest is refused unread.
        if lake.stat(self.input()["raw"]).bytes != recorded["bytes"]:
            raise changed
        self.progress(0, f"reading {self.source}.xlsx ({recorded['bytes']:,} bytes)")
        data = lake.read_bytes(self.input()["raw"])
        if hashlib.sha256(data).hexdigest() != recorded["sha256"]:
            raise changed
        settings = config.settings()
        table = staged_table(self.source, data, file, settings.max_file_mb, settings.max_unpacked_mb)
        lake.write_bytes(self.output(), parquet_bytes(table))
        self.progress(100, f"{self.source}.xlsx: {len(table):,} rows read, every one typed and valid")


class StagedErp(StagedExport):
    source = "erp"


class StagedWeb(StagedExport):
    source = "web"


class StagedLiaison(StagedExport):
    source = "liaison"


STAGED_TASKS = {"erp": StagedErp, "web": StagedWeb, "liaison": StagedLiaison}


def _staged_tables(task: MonthTask) -> dict:
    return {source: table_from_parquet(lake.read_bytes(task.input()["staged"][source])) for source in lake.SOURCES}


def funnel_summary(funnel: dict) -> str:
    """Rows read and kept per source, then the products joined: the status of ReconciledProducts."""
    sources = ", ".join(
        f"{source} {stages[0]['rows']:,} rows read, {stages[-1]['rows']:,} kept"
        for source, stages in funnel.items()
        if source != "products"
    )
    return f"{sources}; {funnel['products']:,} products"


class ReconciledProducts(MonthTask):
    """The products found in all three clean sources, every dropped row and the row-count funnel."""

    def requires(self):
        return {"staged": {source: task(month=self.month) for source, task in STAGED_TASKS.items()}}

    def output(self):
        return {name: self.target(name) for name in ("products", "rejected_rows", "funnel")}

    def run(self):
        staged = self.input()["staged"]
        with parquet_files({source: lake.read_bytes(staged[source]) for source in lake.SOURCES}) as paths:
            result = reconciled(paths)
        outputs = self.output()
        lake.write_bytes(outputs["products"], parquet_bytes(result.products))
        lake.write_bytes(outputs["rejected_rows"], parquet_bytes(result.rejected_rows))
        lake.write_text(outputs["funnel"], json.dumps({"turnover": f"{result.turnover:.2f}", "rows": result.funnel}))
        self.progress(100, funnel_summary(result.funnel))


class ClassifiedWines(MonthTask):
    """Each reconciled product with its price z-score and its class, premium or ordinary."""

    def requires(self):
        return ReconciledProducts(month=self.month)

    def output(self):
        return self.target("classified_wines")

    def run(self):
        products = table_from_parquet(lake.read_bytes(self.input()["products"]))
        threshold = config.settings().premium_zscore
        wines = classified_wines(products, threshold)
        lake.write_bytes(self.output(), parquet_bytes(wines))
        premium = int((wines["category"] == PREMIUM).sum())
        self.progress(
            100, f"{premium:,} premium, {len(wines) - premium:,} ordinary (price z-score above {threshold:g})"
        )


def _gate_passed(task: MonthTask, checks: list[Check], failure: str) -> None:
    """Raises QualityGateError when an error-level check failed, after writing the whole check table to
    the lake (quality_failed), where operators and `bottleneck-admin status` find it; a later pass deletes it."""
    record = gate_record(task.label, checks)
    failed_record = task.target("quality_failed")
    if record["passed"]:
        lake.remove(failed_record)
        return
    lake.write_text(failed_record, json.dumps(record, indent=2, ensure_ascii=False))
    details = "; ".join(
        f"{check.name}: observed {check.observed}, expected {check.expected}"
        + (f" ({check.detail})" if check.detail else "")
        for check in failures(checks)
    )
    raise QualityGateError(f"{task.label}: {failure}: {details}", record["checks"])


class QualityReport(MonthTask):
    """The data-quality gate; an error-level failure stops the month before any report is written."""

    def requires(self):
        return {
            "manifest": RawManifest(month=self.month),
            "staged": {source: task(month=self.month) for source, task in STAGED_TASKS.items()},
            "reconciled": ReconciledProducts(month=self.month),
            "wines": ClassifiedWines(month=self.month),
        }

    def output(self):
        return self.target("quality")

    def run(self):
        inputs = self.input()
        staged = _staged_tables(self)
        wines = table_from_parquet(lake.read_bytes(inputs["wines"]))
        rejected_rows = table_from_parquet(lake.read_bytes(inputs["reconciled"]["rejected_rows"]))
        funnel = json.loads(lake.read_text(inputs["reconciled"]["funnel"]))
        turnover = Decimal(funnel["turnover"])
        checks = gate(staged, wines, rejected_rows, turnover, reference(staged), config.settings().premium_zscore)
        self.progress(100, f"{len(checks) - len(failures(checks))} of {len(checks)} checks passed")
        _gate_passed(self, checks, "quality gate failed, no report written")
        manifest = json.loads(lake.read_text(inputs["manifest"]))
        record = quality_record(self.label, wines, turnover, checks, manifest, funnel["rows"])
        lake.write_text(self.output(), json.dumps(record, indent=2, ensure_ascii=False))


class MonthFigures(luigi.Task):
    """A month's figures and classified wines from its raw exports alone, or the reason there are none.

    It always completes, a month that cannot be processed being a recorded reason rather than a
    failure, so the later months that compare themselves with it are never blocked by it. It is
    done while the exports are those it was made from: exports that arrive later are counted.
    """

    month = ReportMonth()

    def output(self):
        return {"figures": lake.target(self.month, "month_figures"), "wines": lake.target(self.month, "figures_wines")}

    def complete(self) -> bool:
        return typed_completeness(self, self._made_from_exports_now)

    def _made_from_exports_now(self) -> bool:
        figures, made_from = self.output()["figures"], figures_made_from(self.month)
        if not lake.exists(figures):
            return not any(made_from["raw"].values())  # a month with no exports at all leaves nothing behind
        return json.loads(lake.read_text(figures))["made_from"] == made_from

    def run(self):
        label = f"{self.month:%Y-%m}"
        made_from = figures_made_from(self.month)
        record = {"month": label, "made_from": made_from, "figures": None, "reason": None}
        try:
            settings = config.settings()
            for source, stat in made_from["raw"].items():
                if stat:  # from the lake's metadata: an export over the limit is not read
                    excel.check_file_size(stat["bytes"], f"{label} {source}.xlsx", settings.max_file_mb)
            record["figures"], wines = figures_from_raw(label, raw_exports(self.month), settings)
            lake.write_bytes(self.output()["wines"], parquet_bytes(wines))
        except LakeError:
            raise
        except PipelineError as error:
            record["reason"] = str(error)
        lake.write_text(self.output()["figures"], json.dumps(record, indent=2, ensure_ascii=False))  # last: whole


def figures_made_from(month: dt.date) -> dict:
    """What a month's figures are made from, told without reading an export: the size and version the lake
    gives each raw export (None where absent) and the settings that change results."""
    files = {source: lake.target(month, f"raw_{source}") for source in lake.SOURCES}
    raw = {source: lake.stat(file)._asdict() if lake.exists(file) else None for source, file in files.items()}
    return {"raw": raw, "settings": config.result_settings()}


def figures_record(month: dt.date, figures: luigi.target.FileSystemTarget) -> dict:
    """The MonthFigures record of a month; a month without any export has none, and is a gap."""
    if lake.exists(figures):
        return json.loads(lake.read_text(figures))
    return {"month": f"{month:%Y-%m}", "figures": None, "reason": no_exports(f"{month:%Y-%m}")}


def raw_exports(month: dt.date) -> dict[str, bytes | None]:
    """The bytes of each raw export of the month, None where it is absent."""
    files = {source: lake.target(month, f"raw_{source}") for source in lake.SOURCES}
    return {source: lake.read_bytes(file) if lake.exists(file) else None for source, file in files.items()}


class MonthReport(MonthTask):
    """reports/YYYY/MM/: the workbook, the wine, rejected rows and changes CSVs, quality.json.

    The comparison with the months before comes from their MonthFigures, made from their raw exports
    alone: it is the same whether those months ran before this one, after it, or never.
    """

    def requires(self):
        earlier = months_before(self.month, HISTORY_MONTHS - 1, EARLIEST_MONTH)
        return {
            "wines": ClassifiedWines(month=self.month),
            "reconciled": ReconciledProducts(month=self.month),
            "quality": QualityReport(month=self.month),
            "earlier": [MonthFigures(month=month) for month in earlier],
        }

    def output(self):
        return {
            "report.xlsx": self.target("report_xlsx"),
            "premium_wines.csv": self.target("premium_csv"),
            "ordinary_wines.csv": self.target("ordinary_csv"),
            "rejected_rows.csv": self.target("rejected_csv"),
            "changes.csv": self.target("changes_csv"),
            "quality.json": self.target("quality_json"),
        }

    def run(self):
        inputs = self.input()
        wines = table_from_parquet(lake.read_bytes(inputs["wines"]))
        rejected_rows = table_from_parquet(lake.read_bytes(inputs["reconciled"]["rejected_rows"]))
        earlier = [
            figures_record(month, files["figures"])
            for month, files in zip(months_before(self.month, HISTORY_MONTHS - 1, EARLIEST_MONTH), inputs["earlier"])
        ]
        previous_wines = None
        if earlier and earlier[-1]["figures"]:
            previous_wines = table_from_parquet(lake.read_bytes(inputs["earlier"][-1]["wines"]))
        change_table = changes(wines, previous_wines)
        quality = {
            **json.loads(lake.read_bytes(inputs["quality"])),
            **comparison(month_figures(self.label, wines), earlier),
        }
        settings = config.settings()
        threshold = settings.premium_zscore
        contents = {
            "report.xlsx": report_workbook(
                quality, wines, rejected_rows, change_table, premium_price_floor(wines["price"], threshold), threshold
            ),
            "premium_wines.csv": wines_csv(wines[wines["category"] == PREMIUM]),
            "ordinary_wines.csv": wines_csv(wines[wines["category"] == ORDINARY]),
            "rejected_rows.csv": rejected_csv(rejected_rows),
            "changes.csv": changes_csv(change_table),
            # Last: its presence says the month's report is whole.
            "quality.json": json.dumps(quality, indent=2, ensure_ascii=False).encode("utf-8"),
        }
        outputs = self.output()
        for name, data in contents.items():
            lake.write_bytes(outputs[name], data)


class CheckedDeliverables(MonthTask):
    """The report's files read back as their readers get them; a disagreement stops the month before the email."""

    def requires(self):
        return MonthReport(month=self.month)

    def output(self):
        return self.target("deliverables_check")

    def run(self):
        files = {name: lake.read_bytes(target) for name, target in self.input().items()}
        checks = deliverable_checks(files)
        _gate_passed(self, checks, "the deliverables disagree, no email sent")
        lake.write_text(self.output(), json.dumps(gate_record(self.label, checks), indent=2, ensure_ascii=False))


class MonthEmail(MonthTask):
    """The month's report emailed to its readers; the receipt makes sure it is sent once."""

    def requires(self):
        return CheckedDeliverables(month=self.month)

    def output(self):
        return self.target("email_receipt")

    def run(self):
        # Two runs of the month without a shared scheduler both get here: one sends, the other waits.
        with lock.month_lock(self.month, "email"):
            if lake.exists(self.output()):
                return  # sent by the run that held the lock before this one
            reports = {name: lake.read_bytes(target) for name, target in MonthReport(month=self.month).output().items()}
            receipt = mail.deliver_month_report(self.month, reports)
            lake.write_text(self.output(), json.dumps(receipt, indent=2))


class RunMonth(luigi.WrapperTask):
    """The whole month: `luigi --module bottleneck RunMonth --month YYYY-MM`."""

    month = ReportMonth(default=CURRENT_MONTH, description="The month to report, YYYY-MM.")

    def requires(self):
        # The check too: a month already done is still refused when its exports or settings changed since.
        return [MonthEmail(month=self.month), MonthInputs(month=self.month)]
