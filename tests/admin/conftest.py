"""Fixtures of the admin tests: a local lake that is also this process's, and a live process to stand for a run."""

import subprocess

import pytest


@pytest.fixture
def lake(tmp_path, monkeypatch):
    """A local lake, also the lake of this process (for the pure functions and run markers)."""
    monkeypatch.setenv("BOTTLENECK_LAKE", str(tmp_path / "lake"))
    return tmp_path / "lake"


@pytest.fixture
def live_process():
    process = subprocess.Popen(["sleep", "120"])
    yield process
    process.kill()
    process.wait()
