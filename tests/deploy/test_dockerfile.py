"""The Dockerfile, read without building it: hadolint, and the promises a reader checks first."""
import re

from tests.deploy.conftest import REPO, run, tool

DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_hadolint_finds_nothing():
    run([tool("hadolint"), "--no-color", str(REPO / "Dockerfile")])


def test_public_slim_base_by_default_and_a_numeric_non_root_user():
    assert re.search(r"^ARG BASE=python:3\.12-slim$", DOCKERFILE, re.M)
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", DOCKERFILE, re.M)
    assert len(stages) >= 2 and all(image == "${BASE}" for image, _ in stages), "multi-stage, both on BASE"
    runtime = DOCKERFILE[DOCKERFILE.rindex("\nFROM "):]
    assert re.search(r"^USER 10001:10001$", runtime, re.M)
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    assert "pip install" not in runtime, "the runtime stage installs nothing"
    assert re.search(r'^CMD \["bottleneck-run", "RunMonth"\]$', runtime, re.M)


def test_build_context_holds_only_what_the_image_installs():
    lines = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*", "deny everything, then allow"
    assert set(lines) >= {"!bottleneck/", "!setup.cfg", "!pyproject.toml", "!requirements/constraints.txt"}
    assert not any(line.startswith("!tests") for line in lines)
