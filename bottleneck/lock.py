"""A lock in the lake, so that two runs of one month at once never do a once-only step (the email) twice.

Luigi's central scheduler already runs each task once, but a run with `--local-scheduler` (a laptop,
a fallback when luigid is down, a cron job overlapping an operator) knows nothing of other runs. The
lock lives where the outputs live, so it works for any two runs that share the lake:

- S3: the lock is an object created with a conditional put (`If-None-Match: *`): the store creates
  it for exactly one of the runs and refuses the others (412). It is released by a conditional delete
  (`If-Match` its ETag), so a run never deletes a lock that is not its own. A lock older than
  `stale_seconds` (its holder died) is broken the same way, by a conditional delete of that very object.
- Local folder: an advisory `flock` on the lock file. The kernel drops it when its holder exits, even
  by a crash, so a local lock can never go stale; O_EXCL files would need the stale-lock dance above.

A run that finds the lock held waits for it (up to `wait_seconds`), then re-checks what it guards:
the caller must look again, inside the lock, whether the step was done meanwhile.
"""

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.exceptions

from bottleneck import lake, layout
from bottleneck.errors import PipelineError

logger = logging.getLogger(__name__)

# Longer than one email delivery with its SMTP retries ([bottleneck] smtp_retry_seconds, 300 s by default).
WAIT_SECONDS = 900.0
# A held S3 lock older than this is taken for the leftover of a run that died.
STALE_SECONDS = 3600.0
POLL_SECONDS = 1.0


class LockTimeout(PipelineError):  # noqa: N818 - a public name, caught by callers
    """Another run held the month's lock for longer than this run would wait."""

    exit_code = 1


def _owner() -> dict[str, str]:
    return {
        "owner": f"{socket.gethostname()}:{os.getpid()}",
        "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "token": uuid.uuid4().hex,
    }


@contextlib.contextmanager
def month_lock(
    month: dt.date,
    name: str,
    wait_seconds: float = WAIT_SECONDS,
    stale_seconds: float = STALE_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> Iterator[None]:
    """Holds the lake lock `locks/YYYY/MM/<name>.lock` for the body of the `with`."""
    where = layout.location(month, "lock", name=name)
    holder: _S3Lock | _LocalLock = _S3Lock(where, stale_seconds) if where.startswith("s3://") else _LocalLock(where)
    deadline = time.monotonic() + wait_seconds
    waited = False
    while not holder.acquire():
        if not waited:
            logger.info(
                "%s is held by %s: waiting for it (at most %.0f s)", where, holder.describe_holder(), wait_seconds
            )
            waited = True
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"{month:%Y-%m}: {where} still held by {holder.describe_holder()} after "
                f"{wait_seconds:.0f} s; rule 'one run of a month's {name} at a time' (if no run "
                "of this month is active, the holder died: delete the lock and re-run)"
            )
        time.sleep(poll_seconds)
    try:
        yield
    finally:
        holder.release()


class _LocalLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(_owner()).encode())
        self.fd = fd
        return True

    def release(self) -> None:
        import fcntl

        if self.fd is None:
            raise RuntimeError(f"{self.path}: released without being held")
        # The file stays: unlinking it would let a waiter lock a name that a newcomer has just re-created.
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def describe_holder(self) -> str:
        try:
            with open(self.path) as file:
                return json.loads(file.read() or "{}").get("owner", "another run")
        except (OSError, ValueError):
            return "another run"


class _S3Lock:
    def __init__(self, url: str, stale_seconds: float) -> None:
        client = lake.s3_client()
        self.bucket, self.key = layout.bucket_and_key(url)
        self.s3 = client.s3.meta.client
        self.stale_seconds = stale_seconds
        self.etag: str | None = None
        self.seen: dict[str, Any] = {}

    def acquire(self) -> bool:
        try:
            reply = self.s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=json.dumps(_owner()).encode(),
                IfNoneMatch="*",
                ContentType="application/json",
            )
        except botocore.exceptions.ClientError as error:
            # 412: the lock exists; 409: another conditional put on the same key is in flight.
            if lake.http_status(error) not in (409, 412):
                raise
            self._break_if_stale()
            return False
        self.etag = reply["ETag"]
        return True

    def _break_if_stale(self) -> None:
        try:
            head = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except botocore.exceptions.ClientError as error:
            if lake.http_status(error) == 404:
                return  # released meanwhile: the next attempt takes it
            raise
        try:
            self.seen = json.loads(head["Body"].read() or b"{}")
        except ValueError:
            self.seen = {}
        age = (dt.datetime.now(dt.UTC) - head["LastModified"]).total_seconds()
        if age <= self.stale_seconds:
            return
        logger.warning(
            "s3://%s/%s: held by %s for %.0f s, more than %.0f s: breaking it as left by a dead run",
            self.bucket,
            self.key,
            self.seen.get("owner", "?"),
            age,
            self.stale_seconds,
        )
        self._delete(head["ETag"])

    def _delete(self, etag: str) -> None:
        try:
            # Conditional: deletes this very lock, never one another run took after it.
            self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=etag)
        except botocore.exceptions.ClientError as error:
            if lake.http_status(error) not in (404, 412):
                raise

    def release(self) -> None:
        if self.etag is None:
            raise RuntimeError(f"s3://{self.bucket}/{self.key}: released without being held")
        self._delete(self.etag)
        self.etag = None

    def describe_holder(self) -> str:
        return self.seen.get("owner", "another run")
