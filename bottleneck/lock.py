"""A lock in the lake, so that two runs of one month at once never do a once-only step (the email) twice.

Luigi's central scheduler already runs each task once, but a run with `--local-scheduler` (a laptop,
a fallback when luigid is down, a cron job overlapping an operator) knows nothing of other runs. The
lock lives where the outputs live (or in [bottleneck] lock_folder), so it works for any two runs that
share the lake:

- S3: the lock is an object created with a conditional put (`If-None-Match: *`): the store creates
  it for exactly one of the runs and refuses the others (412). It is released by a conditional delete
  (`If-Match` its ETag), so a run never deletes a lock that is not its own. A lock older than
  `stale_seconds`, or whose holder is gone from this host, is broken the same way, by a conditional
  delete of that very object. Before its first S3 lock a run proves the store honours both conditions
  (bottleneck.lock_probe).
- Local folder: an advisory `flock` on the lock file. The kernel drops it when its holder exits, even
  by a crash, so a local lock can never go stale; O_EXCL files would need the stale-lock dance above.

`holder_elsewhere` only looks: how a run learns that `bottleneck-admin reprocess` holds its month.

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

from bottleneck import lake, layout, lock_probe
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


def process_gone(host: object, pid: object) -> bool:
    """True when the process is known to be gone: it ran on this host and no longer exists."""
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(str(pid)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        pass
    return False


def _holder_gone(record: dict[str, Any], age: float, stale_seconds: float) -> bool:
    """A lock left by a run that died: its holder gone from this host, or the lock older than stale_seconds."""
    host, _, pid = str(record.get("owner", "")).rpartition(":")
    return age > stale_seconds or process_gone(host, pid)


# The locks this process holds (their locations); a forked Luigi worker inherits the set, and with it the
# knowledge that a lock its parent holds is not another run's.
_held_here: set[str] = set()


@contextlib.contextmanager
def month_lock(
    month: dt.date,
    name: str,
    wait_seconds: float = WAIT_SECONDS,
    stale_seconds: float = STALE_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> Iterator[None]:
    """Holds the lock `locks/YYYY/MM/<name>.lock` (in the lake, or [bottleneck] lock_folder) for the `with`."""
    where = layout.lock_location(month, "lock", name=name)
    if where.startswith("s3://"):
        lock_probe.require_conditional_writes(month)  # once a run: a store that ignores them is refused
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
    _held_here.add(where)
    try:
        yield
    finally:
        _held_here.discard(where)
        holder.release()


def holder_elsewhere(month: dt.date, name: str, stale_seconds: float = STALE_SECONDS) -> str | None:
    """Who holds the month's lock `name` now ("host:pid since ..."), or None: free, left by a dead run, or held
    by this process. It only looks: the lock is never taken."""
    where = layout.lock_location(month, "lock", name=name)
    if where in _held_here:
        return None
    return (_S3Lock(where, stale_seconds) if where.startswith("s3://") else _LocalLock(where)).held_by()


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
                record = json.loads(file.read() or "{}")
        except (OSError, ValueError):
            return "another run"
        return f"{record.get('owner', 'another run')} since {record.get('since', '?')}"

    def held_by(self) -> str | None:
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None  # never taken
        try:
            # Shared: two runs looking at once do not stop each other; the holder's exclusive lock stops both.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return self.describe_holder()
        finally:
            os.close(fd)  # also drops the shared lock, if taken
        return None


class _S3Lock:
    def __init__(self, url: str, stale_seconds: float) -> None:
        self.s3, self.bucket, self.key = lock_probe.s3_object(url)
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

    def _read(self) -> tuple[str, float] | None:
        """The held lock's ETag and age in seconds, its record in self.seen; None when there is none."""
        try:
            head = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except botocore.exceptions.ClientError as error:
            if lake.http_status(error) == 404:
                return None  # released meanwhile: the next attempt takes it
            raise
        try:
            self.seen = json.loads(head["Body"].read() or b"{}")
        except ValueError:
            self.seen = {}
        return head["ETag"], (dt.datetime.now(dt.UTC) - head["LastModified"]).total_seconds()

    def held_by(self) -> str | None:
        found = self._read()
        if found is None or _holder_gone(self.seen, found[1], self.stale_seconds):
            return None
        return self.describe_holder()

    def _break_if_stale(self) -> None:
        found = self._read()
        if found is None or not _holder_gone(self.seen, found[1], self.stale_seconds):
            return
        etag, age = found
        logger.warning(
            "s3://%s/%s: held by %s for %.0f s (at most %.0f s, or until its process is gone from this host): "
            "breaking it as left by a dead run",
            self.bucket,
            self.key,
            self.seen.get("owner", "?"),
            age,
            self.stale_seconds,
        )
        self._delete(etag)

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
        return f"{self.seen.get('owner', 'another run')} since {self.seen.get('since', '?')}"
