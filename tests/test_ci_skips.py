"""In CI (CI=true) a skipped test is a failure, but for the documented allow-list of tests/conftest.py."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

SKIPS = """
import pytest

def test_tool_missing():
    pytest.skip("no such tool")

def test_allowed():
    pytest.skip("podman cannot run containers here")

@pytest.mark.xfail(reason="a known bug")
def test_known_bug():
    assert False
"""


def run_suite(folder: Path, ci: str | None) -> subprocess.CompletedProcess:
    (folder / "tests").mkdir()
    shutil.copy(Path(__file__).parent / "conftest.py", folder / "tests" / "conftest.py")
    (folder / "tests" / "test_skips.py").write_text(SKIPS)
    (folder / "tests" / "test_module_skip.py").write_text('import pytest\npytest.importorskip("no_such_module")\n')
    environment = {key: value for key, value in os.environ.items() if key != "CI"}
    if ci:
        environment["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rfEs",
            "--continue-on-collection-errors",
            "tests",
        ],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_skip_fails_in_ci_unless_allowed(tmp_path):
    result = run_suite(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "FAILED tests/test_skips.py::test_tool_missing - skipped in CI" in result.stdout
    assert "ERROR tests/test_module_skip.py - skipped in CI" in result.stdout
    assert "SKIPPED [1] tests/test_skips.py" in result.stdout
    assert "podman cannot run containers here" in result.stdout
    assert "1 xfailed" in result.stdout


def test_a_skip_is_a_skip_outside_ci(tmp_path):
    result = run_suite(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "3 skipped" in result.stdout
