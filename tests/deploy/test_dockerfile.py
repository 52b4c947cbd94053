"""The Dockerfile, read without building it: hadolint, and the promises a reader checks first."""

import re

from tests.deploy.conftest import REPO, run, tool

DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_hadolint_finds_nothing():
    run([tool("hadolint"), "--no-color", str(REPO / "Dockerfile")])


def stages() -> list[tuple[str, str, str]]:
    """The Dockerfile's stages in order: (name, what it is built FROM, its text)."""
    found = []
    for text in re.split(r"^FROM ", DOCKERFILE, flags=re.M)[1:]:
        source, _, name = text.partition("\n")[0].partition(" AS ")
        found.append((name.strip(), source.strip(), text))
    return found


def image_text(name: str) -> str:
    """The text of a stage and of the stages it is built on, base first."""
    by_name = {stage: (source, text) for stage, source, text in stages()}
    source, text = by_name[name]
    return (image_text(source) if source in by_name else "") + text


def test_public_slim_base_by_default_and_a_numeric_non_root_user():
    assert re.search(r"^ARG BASE=python:3\.12-slim$", DOCKERFILE, re.M)
    names = []
    for name, source, _ in stages():
        assert source == "${BASE}" or source in names, f"stage {name} is built on neither BASE nor an earlier stage"
        names.append(name)
    pipeline = stages()[-1][0]
    for image, venv_stage, command in (
        (pipeline, "build", '"bottleneck-run", "RunMonth"'),
        ("scheduler", "build-scheduler", '"luigid", '),
    ):
        text = image_text(image)
        assert re.findall(r"^USER (\S+)$", text, re.M)[-1] == "10001:10001", f"{image} runs as root"
        assert f"COPY --from={venv_stage} /opt/venv /opt/venv" in text
        assert "pip install" not in text, f"the {image} image installs nothing itself"
        assert "apt-get" not in text, f"the {image} image installs nothing itself"
        assert re.search(rf"^CMD \[{command}", text, re.M)


def test_build_context_holds_only_what_the_image_installs():
    lines = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*", "deny everything, then allow"
    assert set(lines) >= {"!bottleneck/", "!setup.cfg", "!pyproject.toml", "!requirements/constraints.txt"}
    assert not any(line.startswith("!tests") for line in lines)
