"""The monthly task tree, from the three raw exports in the lake to the delivered report.

Tasks are thin: each loads its inputs from the lake, calls a pure function and writes its output
through a lake target, so a month resumes where it stopped, on any machine that reaches the lake.
"""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import luigi

from bottleneck import (
    config,
    figures,
    history,
    identity,
    lake,
    layout,
    lock,
    mail,
    preflight,
    releases,
    running,
    signals,
)
from bottleneck.classify import PREMIUM, classified_wines
from bottleneck.compare import HISTORY_MONTHS
from bottleneck.deliverables import deliverable_checks
from bottleneck.errors import InvalidInputError
from bottleneck.months import months_before
from bottleneck.parameters import CURRENT_MONTH, ReportMonth
from bottleneck.quality import Check, failures, gate, gate_error, gate_record, join_loss_limits, quality_record
from bottleneck.reconcile import reconciled
from bottleneck.reference import reference
from bottleneck.report import report_files
from bottleneck.staging import staged_table
from bottleneck.tables import parquet_bytes, parquet_files, table_from_parquet


def typed_completeness(task: luigi.Task, check: Callable[[], bool]) -> bool:
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
    Luigi calls complete() again right before each task of the month runs: it first claims the month
    for this process, refused while `bottleneck-admin reprocess` holds it (running.claim).
    """

    month = ReportMonth()

    def complete(self) -> bool:
        def unchanged() -> bool:
            running.claim(self.month)
            return not identity.input_changes(self.month, hashed=False)

        return typed_completeness(self, unchanged)

    def run(self) -> None:
        changes = identity.input_changes(self.month, hashed=True)
        if changes:
            raise InvalidInputError(f"{self.month:%Y-%m}: {'; '.join(changes)}")
        report_progress(self, 100, f"{self.month:%Y-%m}: raw exports rewritten with the same content")


class MonthTask(luigi.Task):
    """A task of one month. Its requires() adds MonthInputs to the tasks it reads (needs()): a guard that must
    pass before it runs, whose output is nothing."""

    month = ReportMonth(default=CURRENT_MONTH, description="The month to report, YYYY-MM.")  # type: ignore[arg-type]  # "current", made the month by normalize()

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"

    def needs(self) -> dict[str, Any]:
        """The tasks whose outputs this task reads, by name (its self.input() has the same names)."""
        return {}

    def requires(self) -> dict[str, Any]:
        return {**self.needs(), "month_inputs": MonthInputs(month=self.month)}

    def target(self, dataset: str) -> luigi.target.FileSystemTarget:
        return lake.target(self.month, dataset)

    def complete(self) -> bool:
        return typed_completeness(self, super().complete)

    def progress(self, percent: int, message: str) -> None:
        report_progress(self, percent, f"{self.label}: {message}")

    def read_table(self, target: luigi.target.FileSystemTarget) -> Any:
        return table_from_parquet(lake.read_bytes(target))

    def read_json(self, target: luigi.target.FileSystemTarget) -> Any:
        return json.loads(lake.read_text(target))

    def write_json(self, target: luigi.target.FileSystemTarget, record: object) -> None:
        lake.write_text(target, json.dumps(record, indent=2, ensure_ascii=False))

    def pass_gate(self, checks: list[Check], failure: str) -> None:
        """Raises QualityGateError when an error-level check failed, after writing the whole check table to
        the lake (quality_failed), where operators and `bottleneck-admin status` find it; a pass deletes it."""
        failed_record = self.target("quality_failed")
        if not failures(checks):
            lake.remove(failed_record)
            return
        self.write_json(failed_record, gate_record(self.label, checks))
        raise gate_error(self.label, failure, checks)


class RawExport(luigi.ExternalTask):
    """One raw export of the month, dropped in the lake by the merchant's systems."""

    month = ReportMonth()
    source = luigi.ChoiceParameter(choices=layout.SOURCES)

    def output(self) -> luigi.target.FileSystemTarget:
        return lake.target(self.month, f"raw_{self.source}")


class RawManifest(MonthTask):
    """Fails fast, naming every missing or empty export and refusing one over the size limit before reading it;
    records the size, version and sha256 of each, and the settings that change results (the month's identity)."""

    def output(self) -> luigi.target.FileSystemTarget:
        return self.target("raw_manifest")

    def run(self) -> None:
        lake.write_text(self.output(), json.dumps(identity.manifest(self.month, self.progress), indent=2))


class StagedExport(MonthTask):
    """One raw export as a typed table that passed its Pandera schema."""

    source = luigi.ChoiceParameter(choices=layout.SOURCES, description="The export: erp, web or liaison.")

    def needs(self) -> dict[str, Any]:
        return {"manifest": RawManifest(month=self.month), "raw": RawExport(month=self.month, source=self.source)}

    def output(self) -> luigi.target.FileSystemTarget:
        return self.target(f"staged_{self.source}")

    def run(self) -> None:
        recorded = self.read_json(self.input()["manifest"])[self.source]
        self.progress(0, f"reading {self.source}.xlsx ({recorded['bytes']:,} bytes)")
        data = identity.export_as_recorded(self.month, self.source, recorded)
        settings = config.settings()
        file = f"{self.label} {self.source}.xlsx"
        table = staged_table(self.source, data, file, settings.max_file_mb, settings.max_unpacked_mb)
        lake.write_bytes(self.output(), parquet_bytes(table))
        self.progress(100, f"{self.source}.xlsx: {len(table):,} rows read, every one typed and valid")


def staged_exports(month: Any) -> dict[str, StagedExport]:
    return {source: StagedExport(month=month, source=source) for source in layout.SOURCES}


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

    def needs(self) -> dict[str, Any]:
        return {"staged": staged_exports(self.month)}

    def output(self) -> dict[str, luigi.target.FileSystemTarget]:
        return {name: self.target(name) for name in ("products", "rejected_rows", "funnel")}

    def run(self) -> None:
        staged = self.input()["staged"]
        with parquet_files({source: lake.read_bytes(staged[source]) for source in layout.SOURCES}) as paths:
            result = reconciled(paths)
        outputs = self.output()
        lake.write_bytes(outputs["products"], parquet_bytes(result.products))
        lake.write_bytes(outputs["rejected_rows"], parquet_bytes(result.rejected_rows))
        lake.write_text(outputs["funnel"], json.dumps({"turnover": f"{result.turnover:.2f}", "rows": result.funnel}))
        self.progress(100, funnel_summary(result.funnel))


class ClassifiedWines(MonthTask):
    """Each reconciled product with its price z-score and its class, premium or ordinary."""

    def needs(self) -> dict[str, Any]:
        return {"reconciled": ReconciledProducts(month=self.month)}

    def output(self) -> luigi.target.FileSystemTarget:
        return self.target("classified_wines")

    def run(self) -> None:
        products = self.read_table(self.input()["reconciled"]["products"])
        threshold = config.settings().premium_zscore
        wines = classified_wines(products, threshold)
        lake.write_bytes(self.output(), parquet_bytes(wines))
        premium = int((wines["category"] == PREMIUM).sum())
        self.progress(
            100, f"{premium:,} premium, {len(wines) - premium:,} ordinary (price z-score above {threshold:g})"
        )


class QualityReport(MonthTask):
    """The data-quality gate; an error-level failure stops the month before any report is written."""

    def needs(self) -> dict[str, Any]:
        return {
            "manifest": RawManifest(month=self.month),
            "staged": staged_exports(self.month),
            "reconciled": ReconciledProducts(month=self.month),
            "wines": ClassifiedWines(month=self.month),
            # What a normal month of this merchant looks like: the months before, from their exports alone.
            "earlier": [MonthFigures(month=month) for month in months_before(self.month, history.LOOKED_BACK)],
        }

    def output(self) -> luigi.target.FileSystemTarget:
        return self.target("quality")

    def earlier_wines(self, labels: list[str]) -> dict[str, Any]:
        """The classified wines MonthFigures made of each month of `labels`, months before with figures."""
        earlier = self.input()["earlier"]
        months = (f"{month:%Y-%m}" for month in months_before(self.month, len(earlier)))
        files = dict(zip(months, earlier, strict=True))
        return {label: self.read_table(files[label]["wines"]) for label in labels}

    def plausibility_checks(
        self, wines: Any, funnel: dict[str, Any], manifest: dict[str, Any]
    ) -> tuple[list[Check], history.Window]:
        """The month against what a normal month of this merchant looks like: alone, against the months before
        (whose MonthFigures it judges itself by, never their runs), and wine by wine."""
        settings = config.settings()
        bounds = history.Bounds.of(settings)
        earlier = earlier_records(self.month, self.input()["earlier"])
        judged_against = history.window(self.month, earlier, bounds)
        checks = join_loss_limits(history.join_losses(funnel), *bounds.join_loss)
        checks += history.stale_uploads(manifest, earlier)
        checks += history.history_checks(history.month_profile(funnel, wines), judged_against, bounds)
        before = earlier[-1] if earlier and earlier[-1]["figures"] else None  # none before the earliest month
        if before:
            previous_wines = self.earlier_wines([before["month"]])[before["month"]]
            checks += signals.price_moves(wines, previous_wines, before["month"], settings.price_move_factor)
        own_history = self.earlier_wines([label for label, _ in judged_against.compared])
        checks += signals.units_jumps(wines, own_history, settings.units_jump_factor)
        return checks, judged_against

    def run(self) -> None:
        inputs = self.input()
        staged = {source: self.read_table(inputs["staged"][source]) for source in layout.SOURCES}
        wines = self.read_table(inputs["wines"])
        rejected_rows = self.read_table(inputs["reconciled"]["rejected_rows"])
        funnel = self.read_json(inputs["reconciled"]["funnel"])
        turnover = Decimal(funnel["turnover"])
        manifest = self.read_json(inputs["manifest"])
        checks = gate(staged, wines, rejected_rows, turnover, reference(staged), config.settings().premium_zscore)
        plausible, judged_against = self.plausibility_checks(wines, funnel["rows"], manifest)
        # An operator's release of a check that held the month, for what it observes now (bottleneck-admin accept).
        checks = releases.released(checks + plausible, releases.records(self.month), releases.raw_sha256(manifest))
        self.progress(100, f"{len(checks) - len(failures(checks))} of {len(checks)} checks passed")
        self.pass_gate(checks, "quality gate failed, no report written")
        record = quality_record(self.label, wines, turnover, checks, manifest, funnel["rows"])
        compared_with = history.compared_with(self.label, judged_against, checks)
        self.write_json(self.output(), {**record, "compared_with": compared_with})


class MonthFigures(luigi.Task):
    """A month's figures and classified wines from its raw exports alone, or the reason there are none.

    It always completes, a month that cannot be processed being a recorded reason rather than a
    failure, so the later months that compare themselves with it are never blocked by it. It is
    done while the exports are those it was made from: exports that arrive later are counted.
    """

    month = ReportMonth()

    def output(self) -> dict[str, luigi.target.FileSystemTarget]:
        return {"figures": lake.target(self.month, "month_figures"), "wines": lake.target(self.month, "figures_wines")}

    def complete(self) -> bool:
        return typed_completeness(self, lambda: figures.is_current(self.month, self.output()["figures"]))

    def run(self) -> None:
        record, wines = figures.figures_of_month(self.month)
        if wines is not None:
            lake.write_bytes(self.output()["wines"], parquet_bytes(wines))
        # Last: the record says the month's figures are whole.
        lake.write_text(self.output()["figures"], json.dumps(record, indent=2, ensure_ascii=False))


def earlier_records(month: Any, earlier: list[dict[str, luigi.target.FileSystemTarget]]) -> list[dict[str, Any]]:
    """The MonthFigures records of the months before `month`, oldest first, one for each of `earlier`'s outputs."""
    months = months_before(month, len(earlier))
    return [figures.figures_record(one, files["figures"]) for one, files in zip(months, earlier, strict=True)]


class MonthReport(MonthTask):
    """reports/YYYY/MM/: the workbook, the wine, rejected rows and changes CSVs, quality.json.

    The comparison with the months before comes from their MonthFigures, made from their raw exports
    alone: it is the same whether those months ran before this one, after it, or never.
    """

    def needs(self) -> dict[str, Any]:
        return {
            "wines": ClassifiedWines(month=self.month),
            "reconciled": ReconciledProducts(month=self.month),
            "quality": QualityReport(month=self.month),
            "earlier": [MonthFigures(month=month) for month in months_before(self.month, HISTORY_MONTHS - 1)],
        }

    def output(self) -> dict[str, luigi.target.FileSystemTarget]:
        return {name: self.target(dataset) for name, dataset in layout.REPORT_FILES.items()}

    def run(self) -> None:
        inputs = self.input()
        earlier = earlier_records(self.month, inputs["earlier"])
        previous_wines = None
        if earlier and earlier[-1]["figures"]:
            previous_wines = self.read_table(inputs["earlier"][-1]["wines"])
        contents = report_files(
            self.read_json(inputs["quality"]),
            self.read_table(inputs["wines"]),
            self.read_table(inputs["reconciled"]["rejected_rows"]),
            earlier,
            previous_wines,
            config.settings().premium_zscore,
        )
        outputs = self.output()
        for name, data in contents.items():  # quality.json last: its presence says the report is whole
            lake.write_bytes(outputs[name], data)


class CheckedDeliverables(MonthTask):
    """The report's files read back as their readers get them; a disagreement stops the month before the email."""

    def needs(self) -> dict[str, Any]:
        return {"report": MonthReport(month=self.month)}

    def output(self) -> luigi.target.FileSystemTarget:
        return self.target("deliverables_check")

    def run(self) -> None:
        files = {name: lake.read_bytes(target) for name, target in self.input()["report"].items()}
        checks = deliverable_checks(files)
        self.pass_gate(checks, "the deliverables disagree, no email sent")
        self.write_json(self.output(), gate_record(self.label, checks))


class MonthEmail(MonthTask):
    """The month's report emailed to its readers; the receipt makes sure it is sent once."""

    def needs(self) -> dict[str, Any]:
        return {"checked": CheckedDeliverables(month=self.month)}

    def output(self) -> luigi.target.FileSystemTarget:
        return self.target("email_receipt")

    def complete(self) -> bool:
        # Asked first when RunMonth is scheduled: a run that would not deliver, or whose locks would not
        # hold, stops there (bottleneck-run refuses it earlier, with its own exit code).
        def delivered() -> bool:
            preflight.require_ready(self.month)
            return lake.exists(self.output())

        return typed_completeness(self, delivered)

    def run(self) -> None:
        # Two runs of the month without a shared scheduler both get here: one sends, the other waits.
        with lock.month_lock(self.month, "email"):
            if lake.exists(self.output()):
                return  # sent by the run that held the lock before this one
            reports = {name: lake.read_bytes(target) for name, target in MonthReport(month=self.month).output().items()}
            receipt = mail.deliver_month_report(self.month, reports)
            lake.write_text(self.output(), json.dumps(receipt, indent=2))


class RunMonth(luigi.WrapperTask):
    """The whole month: `luigi --module bottleneck RunMonth --month YYYY-MM`."""

    month = ReportMonth(default=CURRENT_MONTH, description="The month to report, YYYY-MM.")  # type: ignore[arg-type]  # "current", made the month by normalize()

    def requires(self) -> list[luigi.Task]:
        # The check too: a month already done is still refused when its exports or settings changed since.
        return [MonthEmail(month=self.month), MonthInputs(month=self.month)]
