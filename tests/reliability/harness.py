"""Harness of the fault-injection suite: a month in a loopback S3 lake, and the pipeline run as a process."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ServerProcess, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MONTH = "2020-08"
MONTH_DATE = dt.date(2020, 8, 1)
PRODUCTS = 120
READERS = "readers@bottleneck.test"
OPERATORS = "operators@bottleneck.test"
REPORT_FILES = ("report.xlsx", "premium_wines.csv", "ordinary_wines.csv", "rejected_rows.csv", "quality.json")


class Proxy(ServerProcess):
    """tcp_proxy.py in front of the S3 server: stopping it is the server going down, state kept."""

    def __init__(self, target_port: int):
        self.port = free_port()
        self.target_port = target_port
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.die_on: str | None = None

    def start(self, die_on: str | None = None) -> None:
        """`die_on`: a request pattern at which the proxy dies mid-request, as a crashing server would."""
        self.die_on = die_on
        super().start()

    def command(self) -> list[str]:
        command = [
            sys.executable,
            str(HERE / "tcp_proxy.py"),
            "--listen",
            str(self.port),
            "--target",
            str(self.target_port),
        ]
        return command + (["--die-on", self.die_on] if self.die_on else [])


class Lake:
    """One bucket of the loopback S3 server holding a synthetic month's raw exports."""

    def __init__(self, s3_server, bucket: str):
        self.client = s3_server.client()
        self.bucket = bucket
        self.url = f"s3://{bucket}/lake"
        self.client.create_bucket(Bucket=bucket)

    def key(self, relative: str) -> str:
        return f"lake/{relative}"

    def put(self, relative: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.key(relative), Body=data)

    def get(self, relative: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.key(relative))["Body"].read()

    def objects(self) -> dict[str, dict]:
        """{path relative to the lake: head} of every object."""
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="lake/"):
            for item in page.get("Contents", []):
                found[item["Key"][len("lake/") :]] = item
        return found

    def contents(self, prefix: str = "") -> dict[str, bytes]:
        return {path: self.get(path) for path in self.objects() if path.startswith(prefix)}

    def put_month(self, exports: dict[str, bytes]) -> None:
        for source, data in exports.items():
            self.put(f"raw/2020/08/{source}.xlsx", data)

    def clear_derived(self) -> None:
        """Everything but the raw exports: the month as if never run."""
        for path in self.objects():
            if not path.startswith("raw/"):
                self.client.delete_object(Bucket=self.bucket, Key=self.key(path))

    def reports(self) -> dict[str, bytes]:
        return {name: self.get(f"reports/2020/08/{name}") for name in REPORT_FILES}


def write_cfg(path: Path, sections: dict[str, dict]) -> Path:
    lines = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{name}={value}" for name, value in options.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


class Pipeline:
    """Runs `python -m bottleneck RunMonth` as its own process, configured by a luigi.cfg of its own."""

    def __init__(self, workdir: Path, s3_env: dict):
        self.workdir = workdir
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "LUIGI_", "BOTTLENECK_", "SMTP_"))
        }
        self.env.update(s3_env)
        self.env["TMPDIR"] = str(workdir / "tmp")
        (workdir / "tmp").mkdir(exist_ok=True)
        self.sections = {
            "bottleneck": {"retry_seconds": "3", "smtp_retry_seconds": "1", "alert_receivers": OPERATORS},
            "email": {"sender": "reports@bottleneck.test", "receiver": READERS},
        }

    def configure(self, section: str, **options) -> None:
        self.sections.setdefault(section, {}).update({key: str(value) for key, value in options.items()})

    def start(self, *args: str, env: dict | None = None, module: str | None = None) -> subprocess.Popen:
        config = write_cfg(self.workdir / "luigi.cfg", self.sections)
        environment = {**self.env, "LUIGI_CONFIG_PATH": str(config), **(env or {})}
        command = [sys.executable, "-m", "bottleneck"]
        if module:
            command += ["--module", module]
            environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
        command += ["RunMonth", "--month", MONTH, "--local-scheduler", *args]
        return subprocess.Popen(
            command, cwd=self.workdir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def run(self, *args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        process = self.start(*args, **kwargs)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            raise AssertionError(f"pipeline still running after {timeout}s:\n{output[-3000:]}") from None
        return subprocess.CompletedProcess(process.args, process.returncode, output, "")

    def leftovers(self) -> list[str]:
        """Temporary files the runs left behind (an atomic write's unfinished upload)."""
        return sorted(str(path) for path in (self.workdir / "tmp").rglob("*") if path.is_file())


def difference(expected: bytes, actual: bytes) -> str:
    """Where two files first differ; for a workbook, in which of its zip members."""
    import io
    import zipfile

    if expected[:2] == actual[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(expected)) as one, zipfile.ZipFile(io.BytesIO(actual)) as other:
            if one.namelist() != other.namelist():
                return f"members {one.namelist()} != {other.namelist()}"
            for name in one.namelist():
                if one.read(name) != other.read(name):
                    return f"member {name}: {difference(one.read(name), other.read(name))}"
    # strict=False: one file may be the start of the other, which then differs where the shorter ends.
    pairs = zip(expected, actual, strict=False)
    at = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(expected), len(actual)))
    return f"at byte {at}: {expected[max(at - 60, 0) : at + 60]!r} != {actual[max(at - 60, 0) : at + 60]!r}"
