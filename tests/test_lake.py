"""The lake's storage: S3 or local targets, atomic writes, stat and sha256 without reading whole, boto3 only for S3."""

import datetime as dt
import os
import subprocess
import sys

import luigi
import pytest
from luigi.contrib.s3 import S3Target

from bottleneck import lake

AUGUST = dt.date(2020, 8, 1)


def test_targets_are_s3_or_local_by_the_lake_url(monkeypatch, tmp_path):
    monkeypatch.setenv("BOTTLENECK_LAKE", "s3://wine-lake")
    assert isinstance(lake.target(AUGUST, "quality_json"), S3Target)
    monkeypatch.setenv("BOTTLENECK_LAKE", str(tmp_path))
    local = lake.target(AUGUST, "quality_json")
    assert isinstance(local, luigi.LocalTarget)
    assert local.path == str(tmp_path / "reports/2020/08/quality.json")


def test_writes_are_all_or_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("BOTTLENECK_LAKE", str(tmp_path))
    target = lake.target(AUGUST, "quality_json")

    class InterruptedWriteError(Exception):
        pass

    def interrupted_write():
        with target.open("w") as stream:
            stream.write(b'{"products": ')
            raise InterruptedWriteError

    with pytest.raises(InterruptedWriteError):
        interrupted_write()
    assert not target.exists()
    lake.write_text(target, '{"products": 1}')
    assert lake.read_text(target) == '{"products": 1}'


def test_sha256_streams_a_file_in_chunks(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("BOTTLENECK_LAKE", str(tmp_path))
    target = lake.target(AUGUST, "raw_web")
    data = bytes(range(256)) * (3 * lake.HASH_CHUNK_BYTES // 256 + 7)
    lake.write_bytes(target, data)
    reads = []
    real_open = target.open

    def counting_open(mode="r"):
        stream = real_open(mode)
        original = stream.read
        stream.read = lambda size=-1: reads.append(size) or original(size)
        return stream

    monkeypatch.setattr(target, "open", counting_open)
    assert lake.sha256(target) == hashlib.sha256(data).hexdigest()
    assert reads, "read whole instead of in chunks"
    assert set(reads) == {lake.HASH_CHUNK_BYTES}, "read whole instead of in chunks"


def test_stat_tells_size_and_version_without_reading(tmp_path, monkeypatch, s3_env, s3_server):
    monkeypatch.setenv("BOTTLENECK_LAKE", str(tmp_path))
    local = lake.target(AUGUST, "raw_web")
    lake.write_bytes(local, b"12345")
    first = lake.stat(local)
    assert first.bytes == 5
    lake.write_bytes(local, b"54321")
    assert lake.stat(local).version != first.version, "a rewritten file keeps its version"

    s3_server.client().create_bucket(Bucket="stat-lake")
    monkeypatch.setenv("BOTTLENECK_LAKE", "s3://stat-lake/bottleneck")
    remote = lake.target(AUGUST, "raw_web")
    lake.write_bytes(remote, b"12345")
    first = lake.stat(remote)
    assert first.bytes == 5
    lake.write_bytes(remote, b"54321")
    assert lake.stat(remote).version != first.version


def test_a_local_lake_month_runs_without_importing_boto3(tmp_path):
    # boto3 and luigi.contrib.s3 cost 0.1 s of every run's start: only an s3:// lake needs them.
    script = (
        "import datetime, sys, bottleneck, luigi\n"
        "from bottleneck import lake\n"
        "month = bottleneck.RawManifest(month=datetime.date(2020, 8, 1))\n"
        "assert luigi.build([month], local_scheduler=True) is False\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('boto3', 's3transfer')"
        " or name == 'luigi.contrib.s3'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BOTTLENECK_LAKE": str(tmp_path)},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
