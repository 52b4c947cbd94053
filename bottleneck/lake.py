"""Where every file of the pipeline lives: one lake root (S3 or local) and one layout under it."""
import datetime as dt
import functools
import os
import posixpath

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
    "report_xlsx": "reports/{yyyy}/{mm}/report.xlsx",
    "premium_csv": "reports/{yyyy}/{mm}/premium_wines.csv",
    "ordinary_csv": "reports/{yyyy}/{mm}/ordinary_wines.csv",
    "rejected_csv": "reports/{yyyy}/{mm}/rejected_rows.csv",
    "quality_json": "reports/{yyyy}/{mm}/quality.json",
    "email_receipt": "reports/{yyyy}/{mm}/email.json",
    "email_eml": "reports/{yyyy}/{mm}/email.eml",
    "alert_eml": "alerts/{yyyy}/{mm}/{stamp}-alert.eml",
    # bottleneck.lock: one object a month and guarded step (e.g. email), held while the step runs.
    "lock": "locks/{yyyy}/{mm}/{name}.lock",
}


def lake_url() -> str:
    """The configured lake root, refused when it could escape its folder or bucket."""
    url = config.lake_url().strip()
    path = url[len("s3://"):] if url.startswith("s3://") else url
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
    path = location(month, dataset, **fields)
    if path.startswith("s3://"):
        return _retried_s3_target()(path, format=luigi.format.Nop, client=s3_client())
    return luigi.LocalTarget(path, format=luigi.format.Nop)


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
                raise
            # Typed (exit code 9) once the retry window is spent; the message holds no credential.
            raise LakeError(f"lake {lake_url()} unreachable for [bottleneck] retry_seconds="
                            f"{config.settings().retry_seconds:g}s: {type(error).__name__}: {error}") from error

    return call


@_retried
def read_bytes(file: luigi.target.FileSystemTarget) -> bytes:
    with file.open("r") as stream:
        return stream.read()


@_retried
def write_bytes(file: luigi.target.FileSystemTarget, data: bytes) -> None:
    """Writes all or nothing: the file appears under its name only once complete."""
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


@_retried
def size(file: luigi.target.FileSystemTarget) -> int:
    if not isinstance(file, luigi.LocalTarget):
        return file.fs.get_key(file.path).size
    return os.path.getsize(file.path)
