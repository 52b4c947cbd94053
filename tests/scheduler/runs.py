"""Helpers of the scheduler tests: synthetic months in a lake, and `bottleneck-run` as separate processes."""

import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bottleneck import demo, lake

# Small months keep the suite fast; the quality gate still passes on them.
PRODUCTS = 200
RUNNING = re.compile(r"Worker\(salt=\d+, workers=\d+, host=[^,]+, username=[^,]+, pid=(\d+)\) running\s+(\S+\(.*\))$")


def month_of(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y-%m").date()


def write_months(*months: str) -> None:
    """Writes synthetic raw exports of each month into the lake of this process (BOTTLENECK_LAKE)."""
    for text in months:
        month = month_of(text)
        demo.write_month(month, demo.synthetic_month(month, products=PRODUCTS))


def environment(lake_url: str, config: Path, extra: dict | None = None) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LUIGI_", "BOTTLENECK_"))}
    env.update(BOTTLENECK_LAKE=lake_url, LUIGI_CONFIG_PATH=str(config), **(extra or {}))
    return env


@dataclass
class Started:
    """A `bottleneck-run` process whose output goes to files: a pipe that nothing reads until the process ends
    fills with its log (64 KB) and stops it mid-write."""

    process: subprocess.Popen
    stdout: IO[str]
    stderr: IO[str]

    def finished(self, timeout: float) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) once the process ends."""
        code = self.process.wait(timeout=timeout)
        texts = []
        for stream in (self.stdout, self.stderr):
            stream.seek(0)
            texts.append(stream.read())
            stream.close()
        return code, texts[0], texts[1]


def start(args: list[str], env: dict, cwd: Path) -> Started:
    """`bottleneck-run ARGS` (as `python -m bottleneck`), its output in temporary files."""
    stdout, stderr = (tempfile.TemporaryFile("w+", dir=cwd) for _ in range(2))  # noqa: SIM115 - closed by finished()
    process = subprocess.Popen(
        [sys.executable, "-m", "bottleneck", *args], env=env, cwd=cwd, text=True, stdout=stdout, stderr=stderr
    )
    return Started(process, stdout, stderr)


def run(args: list[str], env: dict, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bottleneck", *args], env=env, cwd=cwd, text=True, capture_output=True, timeout=timeout
    )


def runs_in_log(log: str) -> list[tuple[str, str]]:
    """(worker pid, task) of every task a worker's log says it started running."""
    return [(match[1], match[2]) for line in log.splitlines() if (match := RUNNING.search(line.rstrip()))]


def report_exists(month: str) -> bool:
    return all(
        lake.exists(lake.target(month_of(month), dataset))
        for dataset in ("report_xlsx", "premium_csv", "ordinary_csv", "rejected_csv", "quality_json", "email_receipt")
    )


def counted(items) -> Counter:
    return Counter(items)
