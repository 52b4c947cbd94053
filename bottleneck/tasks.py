"""The monthly task tree, from the three raw exports in the lake to the delivered report.

Tasks are thin: each loads its inputs from the lake, calls a pure function and writes its output
through a lake target, so a month resumes where it stopped, on any machine that reaches the lake.
"""
import datetime as dt
import hashlib
import json
from decimal import Decimal

import luigi

from bottleneck import config, lake, lock, mail
from bottleneck.classify import ORDINARY, PREMIUM, classified_wines, premium_price_floor
from bottleneck.errors import InvalidInputError, MissingSourceError, QualityGateError
from bottleneck.quality import failures, gate, quality_record
from bottleneck.reconcile import reconciled
from bottleneck.report import rejected_csv, report_workbook, wines_csv
from bottleneck.staging import staged_table
from bottleneck.tables import parquet_bytes, table_from_parquet

EARLIEST_MONTH = dt.date(2000, 1, 1)


class ReportMonth(luigi.MonthParameter):
    """A YYYY-MM month between 2000-01 and next year, refusing anything else at parse time."""

    def normalize(self, value):
        month = super().normalize(value)
        if month is not None:
            latest = dt.date(dt.date.today().year + 1, 12, 1)
            if not EARLIEST_MONTH <= month <= latest:
                raise ValueError(f"month {month:%Y-%m} is outside {EARLIEST_MONTH:%Y-%m}..{latest:%Y-%m}")
        return month


class MonthTask(luigi.Task):
    month = ReportMonth(default=config.current_month(), description="The month to report, YYYY-MM.")

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"

    def target(self, dataset: str) -> luigi.target.FileSystemTarget:
        return lake.target(self.month, dataset)

    def complete(self) -> bool:
        """Done when the outputs exist and were made from the raw exports now in the lake.

        When that cannot be told (the lake unreachable) or is false (an export replaced after its month
        ran), the error is also raised as a FAILURE event, so it is alerted and exits with its own code
        as a failure in run() would, instead of a bare scheduling error.
        """
        try:
            done = super().complete()
            if done:
                raw_unchanged(self.month)
            return done
        except Exception as error:
            self.trigger_event(luigi.Event.FAILURE, self, error)
            raise


_raw_verified: set = set()  # months whose raw exports matched their recorded sha256, in this process


def raw_unchanged(month: dt.date) -> None:
    """Refuses a month whose raw exports differ from the sha256 recorded when it ran.

    The records are the month's manifest (work/) and quality.json (reports/): the outputs were made
    from those bytes, and mixing them with a new export would give a report of two different months.
    """
    if month in _raw_verified:
        return
    records = []
    for dataset, key in (("raw_manifest", None), ("quality_json", "raw_files")):
        file = lake.target(month, dataset)
        if lake.exists(file):
            record = json.loads(lake.read_text(file))
            records.append((file.path, record.get(key, {}) if key else record))
    changed = []
    for source in lake.SOURCES:
        raw = lake.target(month, f"raw_{source}")
        recorded = {where: files[source]["sha256"] for where, files in records if source in files}
        if not recorded or not lake.exists(raw):
            continue
        actual = hashlib.sha256(lake.read_bytes(raw)).hexdigest()
        if set(recorded.values()) != {actual}:
            changed.append(f"{raw.path} is now sha256 {actual[:16]}..., not as recorded in {', '.join(recorded)}")
    if changed:
        raise InvalidInputError(
            f"{month:%Y-%m}: raw export replaced after the month was processed: {'; '.join(changed)}; rule 'raw "
            "exports are fixed once a month starts': the outputs are kept and nothing is mixed with them. To "
            "re-process the month on purpose, see the README, 'Re-processing a month'")
    _raw_verified.add(month)


class RawExport(luigi.ExternalTask):
    """One raw export of the month, dropped in the lake by the merchant's systems."""

    month = ReportMonth()
    source = luigi.ChoiceParameter(choices=lake.SOURCES)

    def output(self):
        return lake.target(self.month, f"raw_{self.source}")


class RawManifest(MonthTask):
    """Fails fast, naming every missing or empty export; records the size and sha256 of each."""

    def output(self):
        return self.target("raw_manifest")

    def run(self):
        files = {source: RawExport(month=self.month, source=source).output() for source in lake.SOURCES}
        absent = [file.path for file in files.values() if not lake.exists(file)]
        empty = [file.path for file in files.values() if file.path not in absent and lake.size(file) == 0]
        if absent or empty:
            problems = [f"missing {path}" for path in absent] + [f"empty {path}" for path in empty]
            raise MissingSourceError(f"{self.label}: raw exports not ready: {'; '.join(problems)}")
        manifest = {}
        for source, file in files.items():
            data = lake.read_bytes(file)
            manifest[source] = {"path": file.path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        lake.write_text(self.output(), json.dumps(manifest, indent=2))


class StagedExport(MonthTask):
    """One raw export as a typed table that passed its Pandera schema."""

    source = None  # set by each subclass: the three are distinct tasks in the graph

    def requires(self):
        return {"manifest": RawManifest(month=self.month), "raw": RawExport(month=self.month, source=self.source)}

    def output(self):
        return self.target(f"staged_{self.source}")

    def run(self):
        data = lake.read_bytes(self.input()["raw"])
        recorded = json.loads(lake.read_text(self.input()["manifest"]))[self.source]["sha256"]
        file = f"{self.label} {self.source}.xlsx"
        if hashlib.sha256(data).hexdigest() != recorded:
            raise InvalidInputError(f"{file}: changed since the month's manifest was recorded; "
                                    "rule 'raw exports are fixed once a month starts' (see README: re-process a month)")
        settings = config.settings()
        table = staged_table(self.source, data, file, settings.max_file_mb, settings.max_unpacked_mb)
        lake.write_bytes(self.output(), parquet_bytes(table))


class StagedErp(StagedExport):
    source = "erp"


class StagedWeb(StagedExport):
    source = "web"


class StagedLiaison(StagedExport):
    source = "liaison"


STAGED_TASKS = {"erp": StagedErp, "web": StagedWeb, "liaison": StagedLiaison}


def _staged_tables(task: MonthTask) -> dict:
    return {source: table_from_parquet(lake.read_bytes(task.input()["staged"][source])) for source in lake.SOURCES}


class ReconciledProducts(MonthTask):
    """The products found in all three clean sources, every dropped row and the row-count funnel."""

    def requires(self):
        return {"staged": {source: task(month=self.month) for source, task in STAGED_TASKS.items()}}

    def output(self):
        return {name: self.target(name) for name in ("products", "rejected_rows", "funnel")}

    def run(self):
        result = reconciled(_staged_tables(self))
        outputs = self.output()
        lake.write_bytes(outputs["products"], parquet_bytes(result.products))
        lake.write_bytes(outputs["rejected_rows"], parquet_bytes(result.rejected_rows))
        lake.write_text(outputs["funnel"], json.dumps({"turnover": f"{result.turnover:.2f}", "rows": result.funnel}))


class ClassifiedWines(MonthTask):
    """Each reconciled product with its price z-score and its class, premium or ordinary."""

    def requires(self):
        return ReconciledProducts(month=self.month)

    def output(self):
        return self.target("classified_wines")

    def run(self):
        products = table_from_parquet(lake.read_bytes(self.input()["products"]))
        wines = classified_wines(products, config.settings().premium_zscore)
        lake.write_bytes(self.output(), parquet_bytes(wines))


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
        wines = table_from_parquet(lake.read_bytes(inputs["wines"]))
        rejected_rows = table_from_parquet(lake.read_bytes(inputs["reconciled"]["rejected_rows"]))
        funnel = json.loads(lake.read_text(inputs["reconciled"]["funnel"]))
        turnover = Decimal(funnel["turnover"])
        checks = gate(_staged_tables(self), wines, rejected_rows, turnover, funnel["rows"])
        failed = failures(checks)
        if failed:
            details = "; ".join(f"{check.name}: observed {check.observed}, expected {check.expected}"
                                + (f" ({check.detail})" if check.detail else "") for check in failed)
            raise QualityGateError(f"{self.label}: quality gate failed, no report written: {details}")
        manifest = json.loads(lake.read_text(inputs["manifest"]))
        record = quality_record(self.label, wines, turnover, checks, manifest)
        lake.write_text(self.output(), json.dumps(record, indent=2, ensure_ascii=False))


class MonthReport(MonthTask):
    """reports/YYYY/MM/: the workbook, the premium, ordinary and rejected rows CSVs, quality.json."""

    def requires(self):
        return {
            "wines": ClassifiedWines(month=self.month),
            "reconciled": ReconciledProducts(month=self.month),
            "quality": QualityReport(month=self.month),
        }

    def output(self):
        return {
            "report.xlsx": self.target("report_xlsx"),
            "premium_wines.csv": self.target("premium_csv"),
            "ordinary_wines.csv": self.target("ordinary_csv"),
            "rejected_rows.csv": self.target("rejected_csv"),
            "quality.json": self.target("quality_json"),
        }

    def run(self):
        inputs = self.input()
        wines = table_from_parquet(lake.read_bytes(inputs["wines"]))
        rejected_rows = table_from_parquet(lake.read_bytes(inputs["reconciled"]["rejected_rows"]))
        quality_json = lake.read_bytes(inputs["quality"])
        settings = config.settings()
        threshold = settings.premium_zscore
        contents = {
            "report.xlsx": report_workbook(json.loads(quality_json), wines, rejected_rows,
                                           premium_price_floor(wines["price"], threshold), threshold),
            "premium_wines.csv": wines_csv(wines[wines["category"] == PREMIUM]),
            "ordinary_wines.csv": wines_csv(wines[wines["category"] == ORDINARY]),
            "rejected_rows.csv": rejected_csv(rejected_rows),
            "quality.json": quality_json,  # last: its presence says the month's report is whole
        }
        outputs = self.output()
        for name, data in contents.items():
            lake.write_bytes(outputs[name], data)


class MonthEmail(MonthTask):
    """The month's report emailed to its readers; the receipt makes sure it is sent once."""

    def requires(self):
        return MonthReport(month=self.month)

    def output(self):
        return self.target("email_receipt")

    def run(self):
        # Two runs of the month without a shared scheduler both get here: one sends, the other waits.
        with lock.month_lock(self.month, "email"):
            if lake.exists(self.output()):
                return  # sent by the run that held the lock before this one
            reports = {name: lake.read_bytes(target) for name, target in self.input().items()}
            receipt = mail.deliver_month_report(self.month, reports)
            lake.write_text(self.output(), json.dumps(receipt, indent=2))


class RunMonth(luigi.WrapperTask):
    """The whole month: `luigi --module bottleneck RunMonth --month YYYY-MM`."""

    month = ReportMonth(default=config.current_month(), description="The month to report, YYYY-MM.")

    def requires(self):
        return MonthEmail(month=self.month)
