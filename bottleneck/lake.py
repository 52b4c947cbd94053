"""Where every file of the pipeline lives: one lake root (S3 or local) and one layout under it."""

import datetime as dt
import errno
import functools
import hashlib
import os
import posixpath
from typing import NamedTuple

import backoff
import botocore.exceptions
import luigi
import luigi.format

from bottleneck import config
from bottleneck.errors import LakeError

SOURCES = ("erp", "web", "liaison")

# Every dataset of a month, relative to the lake root. Nothing else in the package builds a path.
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
    # bottleneck.admin reprocess: a month's former reports, and the record of why they were replaced.
    "superseded": "superseded/{yyyy}-{mm}/{stamp}/{name}",
    "reprocess_record": "superseded/{yyyy}-{mm}/{stamp}/reprocess.json",
    # bottleneck-admin check: a file written and removed to prove the lake is writable.
    "check_probe": "locks/{yyyy}/{mm}/check-{token}.probe",
    # bottleneck.lock: one object a month and guarded step (e.g. email), held while the step runs.
    "lock": "locks/{yyyy}/{mm}/{name}.lock",
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


def location(month: dt.date, dataset: str, **fields) -> str:
    """The full path or URL of one dataset of a month."""
    relative = LAYOUT[dataset].format(yyyy=f"{month:%Y}", mm=f"{month:%m}", **fields)
    root = lake_url()
    return posixpath.join(root, relative) if root.startswith("s3://") else os.path.join(root, relative)


def target(month: dt.date, dataset: str, **fields) -> luigi.target.FileSystemTarget:
    return file_at(location(month, dataset, **fields))


def s3_client():
    return _s3_client_of_process(os.getpid())


@functools.lru_cache(maxsize=None)
def _s3_client_of_process(pid: int):
    # Credentials come from boto3's own chain (environment, web identity, instance role), and boto3
    # reads AWS_ENDPOINT_URL itself; one client a process, since forked workers must not share one.
    from luigi.contrib.s3 import S3Client  # boto3, imported only for an s3:// lake (0.1 s a run)

    return S3Client()


TRANSIENT = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    ConnectionError,
    TimeoutError,
)


def http_status(error: botocore.exceptions.ClientError) -> int:
    """The HTTP status an S3 request failed with (0 when there was none)."""
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, botocore.exceptions.ClientError):
        status = http_status(error)
        return not (status >= 500 or status == 429)
    return not isinstance(error, TRANSIENT)


def _retried(function):
    retried = backoff.on_exception(
        backoff.expo,
        (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, *TRANSIENT),
        giveup=_is_permanent,
        max_time=lambda: config.settings().retry_seconds,
        max_value=8,
    )(function)

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return retried(*args, **kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, *TRANSIENT) as error:
            if _is_permanent(error):
                raise unusable(error) from error
            # Typed (exit code 9) once the retry window is spent; the message holds no credential.
            raise LakeError(
                f"lake {lake_url()} unreachable for [bottleneck] retry_seconds="
                f"{config.settings().retry_seconds:g}s: {type(error).__name__}: {error}"
            ) from error
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise LakeError(
                    f"lake {lake_url()} unusable: {error.strerror} on {error.filename}; fix: let the "
                    "user running the pipeline write there, or point [bottleneck] lake "
                    "(BOTTLENECK_LAKE) at a writable folder"
                ) from error
            raise

    return call


CREDENTIALS_FIX = (
    "give the pipeline's identity (web-identity role of its ServiceAccount, instance role, or "
    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) s3:ListBucket on the bucket and s3:GetObject, "
    "s3:PutObject, s3:DeleteObject under the lake's prefix"
)


def unusable(error: Exception) -> LakeError:
    """The typed error (exit 9) of an S3 request the lake refused for good, naming the lake and the fix."""
    url = lake_url()
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return LakeError(f"lake {url} unusable: no AWS credentials found; fix: {CREDENTIALS_FIX}")
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        bucket = url[len("s3://") :].split("/", 1)[0]
        if code == "NoSuchBucket":
            return LakeError(
                f"lake {url} unusable: bucket '{bucket}' does not exist (NoSuchBucket); fix: create "
                "the bucket, or correct [bottleneck] lake (BOTTLENECK_LAKE) and AWS_ENDPOINT_URL"
            )
        if http_status(error) in (401, 403):
            return LakeError(
                f"lake {url} unusable: access refused (HTTP {http_status(error)} {code}); fix: {CREDENTIALS_FIX}"
            )
    return LakeError(
        f"lake {url} unusable: {type(error).__name__}: {error}; fix: check [bottleneck] lake "
        "(BOTTLENECK_LAKE), AWS_ENDPOINT_URL and the pipeline's AWS credentials"
    )


@_retried
def read_bytes(file: luigi.target.FileSystemTarget) -> bytes:
    with file.open("r") as stream:
        return stream.read()


@_retried
def write_bytes(file: luigi.target.FileSystemTarget, data: bytes) -> None:
    """Writes all or nothing: the file appears under its name only once complete."""
    if isinstance(file, luigi.LocalTarget):
        # Luigi's own makedirs hides why a folder could not be made; this says it (exit 9, below).
        os.makedirs(os.path.dirname(file.path), exist_ok=True)
    stream = file.open("w")
    try:
        with stream:
            stream.write(data)
    finally:
        # Luigi keeps the local copy of a write that failed (an S3 upload cut off) until the process
        # ends, and a retried write makes another: a long outage would fill a small /tmp.
        leftover = getattr(stream, "tmp_path", None)
        if leftover and os.path.exists(leftover):
            os.remove(leftover)


def write_text(file: luigi.target.FileSystemTarget, text: str) -> None:
    write_bytes(file, text.encode("utf-8"))


def read_text(file: luigi.target.FileSystemTarget) -> str:
    return read_bytes(file).decode("utf-8")


@_retried
def remove(file: luigi.target.FileSystemTarget) -> None:
    """Deletes the file if it is there (one already gone is fine: a command re-run after being killed)."""
    if file.exists():
        file.remove()


def exists(file: luigi.target.FileSystemTarget) -> bool:
    return file.exists()  # retried by RetriedS3Target itself


@functools.cache
def _retried_s3_target() -> type:
    from luigi.contrib.s3 import S3Target  # boto3, imported only for an s3:// lake (0.1 s a run)

    class RetriedS3Target(S3Target):
        """An S3 target whose exists(), which Luigi's complete() calls, rides out a lake briefly unreachable."""

        @_retried
        def exists(self) -> bool:
            return super().exists()

    return RetriedS3Target


class Stat(NamedTuple):
    """What the lake says of a file without reading it."""

    bytes: int
    version: str  # the same only while the content is: the S3 ETag, or the local mtime in ns


@_retried
def stat(file: luigi.target.FileSystemTarget) -> Stat:
    if not isinstance(file, luigi.LocalTarget):
        bucket, key = file.path[len("s3://") :].split("/", 1)
        head = file.fs.s3.meta.client.head_object(Bucket=bucket, Key=key)
        return Stat(head["ContentLength"], head["ETag"].strip('"'))
    status = os.stat(file.path)
    return Stat(status.st_size, f"mtime_ns:{status.st_mtime_ns}")


HASH_CHUNK_BYTES = 1 << 20


@_retried
def sha256(file: luigi.target.FileSystemTarget) -> str:
    """The sha256 of a file, read in chunks: memory stays flat whatever its size."""
    digest = hashlib.sha256()
    with file.open("r") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


# Folders of one month, for the operator's commands: what is in them, and clearing them.
MONTH_FOLDERS = {
    "raw": "raw/{yyyy}/{mm}",
    "staging": "staging/{yyyy}/{mm}",
    "work": "work/{yyyy}/{mm}",
    "reports": "reports/{yyyy}/{mm}",
    "alerts": "alerts/{yyyy}/{mm}",
    "locks": "locks/{yyyy}/{mm}",
    "superseded": "superseded/{yyyy}-{mm}",
}


def folder(month: dt.date, name: str) -> str:
    relative = MONTH_FOLDERS[name].format(yyyy=f"{month:%Y}", mm=f"{month:%m}")
    root = lake_url()
    return posixpath.join(root, relative) if root.startswith("s3://") else os.path.join(root, relative)


@_retried
def listing(where: str) -> list[str]:
    """The names of the files below a folder of the lake, relative to it, sorted ([] when absent)."""
    if where.startswith("s3://"):
        return sorted(s3_client().list(where.rstrip("/") + "/"))
    if not os.path.isdir(where):
        return []
    return sorted(
        os.path.relpath(os.path.join(parent, name), where).replace(os.sep, "/")
        for parent, _, names in os.walk(where)
        for name in names
    )


def months_in(area: str) -> list[dt.date]:
    """Every month that has a folder under raw/, reports/, work/... (an area of MONTH_FOLDERS)."""
    root = lake_url()
    top = MONTH_FOLDERS[area].split("/")[0]
    where = posixpath.join(root, top) if root.startswith("s3://") else os.path.join(root, top)
    found = set()
    for name in listing(where):
        parts = name.replace("-", "/").split("/")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            try:
                found.add(dt.date(int(parts[0]), int(parts[1]), 1))
            except ValueError:
                continue
    return sorted(found)


def file_at(path: str) -> luigi.target.FileSystemTarget:
    """The target of a path of the lake: one built by location(), or found by listing() below it."""
    if path.startswith("s3://"):
        return _retried_s3_target()(path, format=luigi.format.Nop, client=s3_client())
    return luigi.LocalTarget(path, format=luigi.format.Nop)


def join(where: str, name: str) -> str:
    return posixpath.join(where, name) if where.startswith("s3://") else os.path.join(where, name)
