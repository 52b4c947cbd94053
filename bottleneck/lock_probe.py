"""The proof, once per run, that the S3 store of the month locks honours the conditional writes they rest on.

A month lock on S3 (bottleneck.lock) is an object created with `If-None-Match: *` and deleted with
`If-Match: <its ETag>`. S3 gained both conditions recently and S3-compatible stores differ: one that
accepts the headers and ignores them lets two runs of a month both take its lock, and both send its
email. So before the first lock of a run, on a fresh key of the store:

1. a put with `If-None-Match: *` must create it;
2. a second such put must be refused (412, or 409 while the first is still settling);
3. a delete with a wrong `If-Match` must be refused (412), the object left in place;

then the key is deleted. A store that fails any step is refused (exit 9), named, with the fix. A local
lock folder needs no proof: its locks are the kernel's flock.
"""

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from bottleneck import lake, layout
from bottleneck.errors import LakeError

# (endpoint, bucket) of the stores proven in this process; forked Luigi workers inherit it.
_proven: set[tuple[str, str]] = set()

# An ETag no object has: S3's are the quoted hex of an MD5, or of MD5s and a part count.
WRONG_ETAG = '"00000000000000000000000000000000"'

FIX = (
    "Use a store that honours S3 conditional writes (AWS S3; MinIO, Ceph RGW, Cloudflare R2... in a version "
    "that does), or keep the locks in a folder every run mounts: [bottleneck] lock_folder "
    "(docs/operations.md, Locks)"
)


class UnsafeLockStoreError(LakeError):
    """The lake's S3 store does not honour the conditional writes the month locks rest on."""


def s3_object(url: str) -> tuple[Any, str, str]:
    """The boto3 client of the lake, and the bucket and key of an s3:// URL."""
    bucket, key = layout.bucket_and_key(url)
    return lake.s3_client().s3.meta.client, bucket, key


def store_name(s3: Any, bucket: str) -> str:
    return f"s3://{bucket} at {s3.meta.endpoint_url}"


def require_conditional_writes(month: dt.date) -> str | None:
    """Proves the store of the month's locks, once per process; returns its name (None: a local lock folder).

    Raises UnsafeLockStoreError when it accepts what it must refuse."""
    where = layout.lock_location(month, "lock_probe", token=uuid.uuid4().hex)
    if not where.startswith("s3://"):
        return None
    s3, bucket, key = s3_object(where)
    store = store_name(s3, bucket)
    if (s3.meta.endpoint_url, bucket) not in _proven:
        _probe(s3, bucket, key, store)
        _proven.add((s3.meta.endpoint_url, bucket))
    return store


# Answers a probe step looks at rather than retries: a refused condition, or a store that cannot evaluate one.
ANSWERS = (400, 409, 412, 501)


def _status(request: Callable[[], object]) -> tuple[int, str]:
    """The HTTP status of an S3 request (200 when it succeeded) and its error code; other failures are the
    lake's own (retried when transient, then exit 9)."""

    def attempt() -> tuple[int, str]:
        try:
            request()
        except botocore.exceptions.ClientError as error:
            if lake.http_status(error) not in ANSWERS:
                raise
            return lake.http_status(error), str(error.response.get("Error", {}).get("Code", ""))
        return 200, ""

    return lake.s3_call(attempt)


def _refused(store: str, what: str) -> UnsafeLockStoreError:
    return UnsafeLockStoreError(
        f"lock store {store} {what}: two runs of one month could both take its lock and send its email twice. {FIX}"
    )


def _probe(s3: Any, bucket: str, key: str, store: str) -> None:
    def put(attempt: int) -> None:
        body = json.dumps({"probe": "bottleneck lock store", "attempt": attempt}).encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", ContentType="application/json")

    try:
        status, code = _status(lambda: put(1))
        if status != 200:
            raise _refused(store, f"refused a conditional put (If-None-Match: *) of {key}: HTTP {status} {code}")
        status, code = _status(lambda: put(2))
        if status not in (409, 412):
            said = "accepted" if status == 200 else f"answered HTTP {status} {code} to"
            raise _refused(store, f"ignores If-None-Match: it {said} a second conditional put of {key}")
        status, code = _status(lambda: s3.delete_object(Bucket=bucket, Key=key, IfMatch=WRONG_ETAG))
        if status != 412:
            said = "deleted it" if status == 200 else f"answered HTTP {status} {code}"
            raise _refused(store, f"ignores If-Match: asked to delete {key} only if its ETag were {WRONG_ETAG}, {said}")
    finally:
        # A probe left behind is a few bytes under locks/, named as such.
        with contextlib.suppress(botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            s3.delete_object(Bucket=bucket, Key=key)
