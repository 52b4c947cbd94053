"""Fixtures of the deployment checks: the tools (helm, kubectl, kubernetes-validate, hadolint, podman)
found or skipped, and the chart and the kustomization rendered to lists of objects."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "bottleneck"
K8S = REPO / "k8s"
HERE = Path(__file__).resolve().parent
# Where .ci/deploy-tools puts helm and kubectl, and where pip puts hadolint and kubernetes-validate.
SEARCH_PATH = os.pathsep.join([str(REPO / ".ci" / "bin"), str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def tool(name: str, env_var: str | None = None) -> str:
    """The path of a tool (env var first, then PATH and the project's tool folders), or a skip."""
    explicit = os.environ.get(env_var) if env_var else None
    found = explicit if explicit and os.access(explicit, os.X_OK) else shutil.which(name, path=SEARCH_PATH)
    if not found:
        pytest.skip(f"{name} is not installed (run .ci/deploy-tools)")
    return found


def run(command: list[str], stdin: str | None = None, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def objects(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(docs: list[dict], kind: str, component: str | None = None) -> dict:
    """The one object of a kind (and app.kubernetes.io/component label) in a rendering."""
    matches = [
        doc
        for doc in docs
        if doc["kind"] == kind
        and (component is None or doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component)
    ]
    assert len(matches) == 1, f"{len(matches)} {kind} ({component}) objects in the rendering"
    return matches[0]


@pytest.fixture(scope="session")
def helm(tmp_path_factory):
    binary = tool("helm", "HELM")
    home = tmp_path_factory.mktemp("helm-home")
    # helm writes its cache and config under HOME; a fresh one keeps the runs independent of the machine.
    env = {
        **os.environ,
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }

    def helm_command(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [binary, *args]
        if check:
            return run(command, env=env)
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)

    return helm_command


@pytest.fixture(scope="session")
def kubectl():
    return tool("kubectl", "KUBECTL")


@pytest.fixture(scope="session")
def validate():
    """Validates manifests against the Kubernetes schemas, strictly (unknown fields are errors)."""
    binary = tool("kubernetes-validate")

    def check(text: str, version: str | None = None) -> None:
        command = [binary, "--strict", "--quiet"] + (["-k", version] if version else []) + ["-"]
        run(command, stdin=text)

    return check


# The defaults and the one value they lack (smtp.host): what a user installs with the least said.
REQUIRED = HERE / "values-required.yaml"


@pytest.fixture(scope="session")
def render_chart(helm):
    """`helm template` of the chart with values files (after values-required.yaml) and --set pairs, as objects
    (and the text)."""

    def render(
        *values_files: Path,
        release: str = "bottleneck",
        namespace: str = "reports",
        sets: dict | None = None,
        show_tests: bool = True,
    ) -> tuple[list[dict], str]:
        args = ["template", release, str(CHART), "--namespace", namespace]
        for values in (REQUIRED, *values_files):
            args += ["--values", str(values)]
        for key, value in (sets or {}).items():
            args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
        text = helm(*args).stdout
        return objects(text), text

    return render
