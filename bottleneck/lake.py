"""The lake's storage: targets on S3 or a local folder, atomic writes, and retries that ride out outages.

Where each file lives is bottleneck.layout's to say; this module reads and writes it.
"""

import datetime as dt
import errno
import functools
import hashlib
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

import backoff
import botocore.exceptions
import luigi
import luigi.format

from bottleneck import config, layout
from bottleneck.errors import LakeError

if TYPE_CHECKING:
    from luigi.contrib.s3 import S3Client, S3Target

Arguments = ParamSpec("Arguments")
Result = TypeVar("Result")


def s3_client() -> "S3Client":
    return _s3_client_of_process(os.getpid())


@functools.cache
def _s3_client_of_process(pid: int) -> "S3Client":
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


def _retried(function: Callable[Arguments, Result]) -> Callable[Arguments, Result]:
    retried = backoff.on_exception(
        backoff.expo,
        (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, *TRANSIENT),
        giveup=_is_permanent,
        max_time=lambda: config.settings().retry_seconds,
        max_value=8,
    )(function)

    @functools.wraps(function)
    def call(*args: Arguments.args, **kwargs: Arguments.kwargs) -> Result:
        try:
            return retried(*args, **kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, *TRANSIENT) as error:
            if _is_permanent(error):
                raise unusable(error) from error
            # Typed (exit code 9) once the retry window is spent; the message holds no credential.
            raise LakeError(
                f"lake {layout.lake_url()} unreachable for [bottleneck] retry_seconds="
                f"{config.settings().retry_seconds:g}s: {type(error).__name__}: {error}"
            ) from error
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise LakeError(
                    f"lake {layout.lake_url()} unusable: {error.strerror} on {error.filename}; fix: let the "
                    "user running the pipeline write there, or point [bottleneck] lake "
                    "(BOTTLENECK_LAKE) at a writable folder"
                ) from error
            raise

    return call


def s3_call(request: Callable[[], Result]) -> Result:
    """An S3 request made as the lake makes its own: transient errors retried for retry_seconds, then typed
    (exit 9), a request refused for good typed at once, naming the lake and the fix."""
    return _retried(request)()


CREDENTIALS_FIX = (
    "give the pipeline's identity (web-identity role of its ServiceAccount, instance role, or "
    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) s3:ListBucket on the bucket and s3:GetObject, "
    "s3:PutObject, s3:DeleteObject under the lake's prefix"
)


def unusable(error: Exception) -> LakeError:
    """The typed error (exit 9) of an S3 request the lake refused for good, naming the lake and the fix."""
    url = layout.lake_url()
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return LakeError(f"lake {url} unusable: no AWS credentials found; fix: {CREDENTIALS_FIX}")
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        bucket, _ = layout.bucket_and_key(url)
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
def _retried_s3_target() -> "type[S3Target]":
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
        bucket, key = layout.bucket_and_key(file.path)
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


def file_at(path: str) -> luigi.target.FileSystemTarget:
    """The target of a path of the lake: one built by bottleneck.layout, or found by listing() below it."""
    if path.startswith("s3://"):
        return _retried_s3_target()(path, format=luigi.format.Nop, client=s3_client())
    return luigi.LocalTarget(path, format=luigi.format.Nop)


def record(month: dt.date, dataset: str, **fields: str) -> Any:
    """The JSON record of one dataset of a month; None when it is absent."""
    file = target(month, dataset, **fields)
    return json.loads(read_text(file)) if exists(file) else None


def target(month: dt.date, dataset: str, **fields: str) -> luigi.target.FileSystemTarget:
    """The target of one dataset of a month, where bottleneck.layout puts it."""
    return file_at(layout.location(month, dataset, **fields))
