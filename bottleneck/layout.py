"""Where every file of the pipeline lives: one lake root (S3 or local) and one layout under it.

Nothing else in the package builds a path or a key: a task asks for (month, dataset) and gets the
full path, which bottleneck.lake turns into a target.
"""

import datetime as dt
import os
import posixpath

from bottleneck import config
from bottleneck.errors import LakeError

SOURCES = ("erp", "web", "liaison")

# Every dataset of a month, relative to the lake root.
LAYOUT = {
    "raw_erp": "raw/{yyyy}/{mm}/erp.xlsx",
    "raw_web": "raw/{yyyy}/{mm}/web.xlsx",
    "raw_liaison": "raw/{yyyy}/{mm}/liaison.xlsx",
    "raw_manifest": "work/{yyyy}/{mm}/raw_manifest.json",
    "staged_erp": "staging/{yyyy}/{mm}/erp.parquet",
    "staged_web": "staging/{yyyy}/{mm}/web.parquet",
    "staged_liaison": "staging/{yyyy}/{mm}/liaison.parquet",
    "products": "work/{yyyy}/{mm}/products.parquet",
    "rejected_rows": "work/{yyyy}/{mm}/rejected_rows.parquet",
    "funnel": "work/{yyyy}/{mm}/funnel.json",
    "classified_wines": "work/{yyyy}/{mm}/classified_wines.parquet",
    "quality": "work/{yyyy}/{mm}/quality.json",
    # The full check table of a failed gate (QualityReport or CheckedDeliverables); gone once the gate passes.
    "quality_failed": "work/{yyyy}/{mm}/quality_failed.json",
    "deliverables_check": "work/{yyyy}/{mm}/deliverables_check.json",
    # MonthFigures: a month's figures made from its raw exports alone, for the months after it to compare with.
    "month_figures": "work/{yyyy}/{mm}/figures.json",
    "figures_wines": "work/{yyyy}/{mm}/figures_wines.parquet",
    "report_xlsx": "reports/{yyyy}/{mm}/report.xlsx",
    "premium_csv": "reports/{yyyy}/{mm}/premium_wines.csv",
    "ordinary_csv": "reports/{yyyy}/{mm}/ordinary_wines.csv",
    "rejected_csv": "reports/{yyyy}/{mm}/rejected_rows.csv",
    "changes_csv": "reports/{yyyy}/{mm}/changes.csv",
    "quality_json": "reports/{yyyy}/{mm}/quality.json",
    "email_receipt": "reports/{yyyy}/{mm}/email.json",
    "email_eml": "reports/{yyyy}/{mm}/email.eml",
    "alert_eml": "alerts/{yyyy}/{mm}/{stamp}-alert.eml",
    # One record of every alert sent or written, read by `bottleneck-admin status`.
    "alert_record": "alerts/{yyyy}/{mm}/{stamp}-alert.json",
    # bottleneck.running: one marker a month and process while a run works on the month.
    "run_marker": "locks/{yyyy}/{mm}/run-{owner}.json",
    # bottleneck-admin reprocess: a month's former reports, and the record of why they were replaced.
    "superseded": "superseded/{yyyy}-{mm}/{stamp}/{name}",
    "reprocess_record": "superseded/{yyyy}-{mm}/{stamp}/reprocess.json",
    # bottleneck-admin accept: an operator's release of a check that held the month, with who, when and why.
    "acceptance": "accepted/{yyyy}/{mm}/{stamp}-{name}.json",
    # bottleneck-admin check: a file written and removed to prove the lake is writable.
    "check_probe": "locks/{yyyy}/{mm}/check-{token}.probe",
    # bottleneck.lock: one object a month and guarded step (e.g. email), held while the step runs. Under the
    # lock root (lock_location), the lake unless [bottleneck] lock_folder says otherwise.
    "lock": "locks/{yyyy}/{mm}/{name}.lock",
    # bottleneck.lock_probe: an object put twice and deleted to prove the store honours conditional writes.
    "lock_probe": "locks/{yyyy}/{mm}/probe-{token}.lock",
}

# The month's report, each file by its name and dataset; quality.json last, its presence saying the report is whole.
REPORT_FILES = {
    "report.xlsx": "report_xlsx",
    "premium_wines.csv": "premium_csv",
    "ordinary_wines.csv": "ordinary_csv",
    "rejected_rows.csv": "rejected_csv",
    "changes.csv": "changes_csv",
    "quality.json": "quality_json",
}

# Folders of one month, for the operator's commands: what is in them, and clearing them.
MONTH_FOLDERS = {
    "raw": "raw/{yyyy}/{mm}",
    "staging": "staging/{yyyy}/{mm}",
    "work": "work/{yyyy}/{mm}",
    "reports": "reports/{yyyy}/{mm}",
    "alerts": "alerts/{yyyy}/{mm}",
    "locks": "locks/{yyyy}/{mm}",
    "superseded": "superseded/{yyyy}-{mm}",
    "accepted": "accepted/{yyyy}/{mm}",
}


def lake_url() -> str:
    """The configured lake root, refused when it could escape its folder or bucket."""
    url = config.lake_url().strip()
    path = url[len("s3://") :] if url.startswith("s3://") else url
    if not path or ".." in path.replace("\\", "/").split("/"):
        raise LakeError(f"lake {url!r} is refused: rule 'lake URL without empty or parent (..) segments'")
    if "://" in url and not url.startswith("s3://"):
        raise LakeError(f"lake {url!r} is refused: rule 'an s3:// URL or a local folder'")
    return url.rstrip("/")


def lock_root() -> str:
    """Where the month locks live: [bottleneck] lock_folder, a local folder every run shares, or the lake."""
    folder = config.settings().lock_folder.strip()
    if not folder:
        return lake_url()
    if "://" in folder or ".." in folder.replace("\\", "/").split("/"):
        raise LakeError(f"[bottleneck] lock_folder {folder!r} is refused: rule 'a local folder, without parent (..)'")
    return folder.rstrip("/") or "/"


def lock_location(month: dt.date, dataset: str, **fields: str) -> str:
    """The full path or URL of a lock (or lock probe) of a month, under the lock root."""
    return join(lock_root(), LAYOUT[dataset].format(yyyy=f"{month:%Y}", mm=f"{month:%m}", **fields))


def join(where: str, name: str) -> str:
    """A path below a folder of the lake: posix for S3, the system's for a local folder."""
    return posixpath.join(where, name) if where.startswith("s3://") else os.path.join(where, name)


def bucket_and_key(url: str) -> tuple[str, str]:
    """The bucket and the key of an s3:// URL: ('wine-lake', 'reports/raw/2020/08/erp.xlsx')."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def location(month: dt.date, dataset: str, **fields: str) -> str:
    """The full path or URL of one dataset of a month."""
    return join(lake_url(), LAYOUT[dataset].format(yyyy=f"{month:%Y}", mm=f"{month:%m}", **fields))


def folder(month: dt.date, name: str) -> str:
    """The full path or URL of one of the month's folders (MONTH_FOLDERS)."""
    return join(lake_url(), MONTH_FOLDERS[name].format(yyyy=f"{month:%Y}", mm=f"{month:%m}"))


def area(name: str) -> str:
    """The full path or URL of the folder that holds every month of one area (raw, work, reports...)."""
    return join(lake_url(), MONTH_FOLDERS[name].split("/")[0])


def file_name(dataset: str) -> str:
    """The name of a dataset's file, without its folder: 'quality.json'."""
    return posixpath.basename(LAYOUT[dataset])
