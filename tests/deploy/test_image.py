"""The images built with podman (the pipeline's and luigid's) and run as Kubernetes would run them: as
UID 10001 on a read-only root with a tmpfs /tmp; then the CronJob's own command, environment and
volumes, taken from the rendered chart, run the current month against S3 and SMTP servers and a luigid
container on loopback, under the memory limit the chart gives; and a run near its memory limit."""

import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import SMTP_LOGIN, SMTP_PASSWORD, free_port, wait_for_port
from tests.deploy.conftest import REPO, find
from tests.deploy.pod import podman, podman_run_args

pytestmark = pytest.mark.slow

IMAGE = "localhost/bottleneck:test-deploy"
SCHEDULER_IMAGE = "localhost/bottleneck-luigid:test-deploy"
LOCAL_BASE = "localhost/python-base:bookworm"
BASE = "docker.io/library/python:3.12-slim"  # the Dockerfile's default
RUNTIME_BUDGET_MB = 180  # what the image may add to its base
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ARTIFACTS = REPO / "test-artifacts"
REPORT_FILES = {
    "report.xlsx",
    "premium_wines.csv",
    "ordinary_wines.csv",
    "rejected_rows.csv",
    "quality.json",
    "email.json",
}


def podman_command(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, (
            f"podman {' '.join(args[:3])}... exited {result.returncode}:\n{result.stderr[-4000:]}"
        )
    return result


def base_image() -> str | None:
    """The public slim base (None: the Dockerfile's default), or the local Debian base where registries
    are unreachable."""
    base = os.environ.get("BOTTLENECK_IMAGE_BASE")
    if base is None and podman_command("image", "exists", LOCAL_BASE, check=False).returncode == 0:
        base = LOCAL_BASE
    return base


def build(tag: str, dockerfile: str = "Dockerfile", target: str | None = None) -> None:
    args = ["build", "-f", dockerfile, "-t", tag] + (["--target", target] if target else [])
    base = base_image()
    if base:
        args += ["--build-arg", f"BASE={base}"]
    if CA_BUNDLE.exists():
        # This machine's TLS proxy: pip in the build trusts it without baking it into the image.
        args += ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
    podman_command(*args, str(REPO), timeout=1800)


@pytest.fixture(scope="module")
def image():
    if not podman():
        pytest.skip("podman is not installed (run .ci/deploy-tools as root)")
    if podman_command("info", check=False, timeout=60).returncode != 0:
        pytest.skip("podman cannot run containers here")
    build(IMAGE)
    return IMAGE


@pytest.fixture(scope="module")
def scheduler_image(image):
    """luigid's image, the Dockerfile's scheduler target (built after the pipeline's: the build stage is shared)."""
    build(SCHEDULER_IMAGE, target="scheduler")
    return SCHEDULER_IMAGE


def in_image(image: str, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return podman_command(
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop=ALL",
        "--security-opt",
        "no-new-privileges",
        image,
        *command,
        timeout=timeout,
    )


def test_image_runs_as_uid_10001_and_defaults_to_the_current_month(image):
    assert in_image(image, "id", "-u").stdout.strip() == "10001"
    assert in_image(image, "python", "-c", "import os; print(os.getuid(), os.getgid())").stdout.split() == [
        "10001",
        "10001",
    ]
    config = json.loads(podman_command("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == ["bottleneck-run", "RunMonth"]
    assert {"HOME=/tmp", "TMPDIR=/tmp"} <= set(config["Env"])


def test_package_imports_and_bottleneck_run_answers_on_a_read_only_root(image):
    script = (
        "import subprocess, sys, time\n"
        "import bottleneck\n"
        "times = []\n"
        "for _ in range(3):\n"
        "    start = time.monotonic()\n"
        "    result = subprocess.run(['bottleneck-run', '--help'], capture_output=True, text=True)\n"
        "    times.append(time.monotonic() - start)\n"
        "    assert result.returncode == 0 and 'RunMonth' in result.stdout + result.stderr"
        " or 'usage' in result.stdout, result\n"
        "print(bottleneck.__version__, min(times))\n"
    )
    version, cold_start = in_image(image, "python", "-c", script).stdout.split()
    assert version
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "image-cold-start.txt").write_text(f"bottleneck-run --help in the image: {float(cold_start):.2f} s\n")
    assert float(cold_start) < 10


def test_image_holds_no_pip_compiler_tests_or_caches(image):
    script = (
        "import glob, os, shutil, sysconfig\n"
        "site = sysconfig.get_paths()['purelib']\n"
        "import importlib.util\n"
        "print(importlib.util.find_spec('pip'), os.path.exists('/opt/venv/bin/pip'),"
        " shutil.which('gcc'), shutil.which('cc'))\n"
        "print(len(glob.glob(site + '/*/tests')), os.path.exists(os.path.expanduser('~/.cache/pip')),"
        " os.path.exists('/root/.cache/pip'))\n"
        "print(sorted(os.listdir(site + '/botocore/data'))[:3], os.path.exists('/src'))\n"
    )
    lines = in_image(image, "python", "-c", script).stdout.splitlines()
    # The base image may carry its own pip; the venv the pipeline runs in has none, nor a compiler.
    assert lines[0] == "None False None None", "pip in the venv, or a compiler, in the runtime image"
    assert lines[1] == "0 False False", "test suites or a pip cache in the runtime image"
    assert "/src" not in lines[2]
    assert lines[2].endswith("False")


def test_third_party_code_is_bytecode_alone_and_neither_blas_nor_scheduler_libraries_are_there(image):
    script = (
        "import glob, importlib.util, linecache, os, sysconfig\n"
        "import bottleneck.cli, duckdb, luigi, numpy, pandas, pandera\n"
        "print(*[module.__file__.endswith('.pyc') for module in (duckdb, luigi, numpy, pandas, pandera)])\n"
        "source = bottleneck.cli.__file__\n"
        "print(source.endswith('.py'), os.path.exists(importlib.util.cache_from_source(source)),"
        " bool(linecache.getline(source, 1)))\n"
        "print(importlib.util.find_spec('sqlalchemy'), importlib.util.find_spec('greenlet'))\n"
        "built = numpy.__config__.CONFIG['Build Dependencies']\n"
        "print(built['blas']['name'], built['lapack']['name'],"
        " glob.glob(sysconfig.get_paths()['purelib'] + '/numpy*libs'))\n"
    )
    lines = in_image(image, "python", "-c", script).stdout.splitlines()
    assert lines[0] == "True True True True True", "third-party sources in the image"
    assert lines[1] == "True True True", "the package's sources (tracebacks with lines) or their bytecode missing"
    assert lines[2] == "None None", "luigid's task history libraries in the pipeline's image"
    assert lines[3] == "none none []", "numpy with a BLAS or LAPACK library"


def test_scheduler_image_runs_luigid_as_uid_10001_without_the_pipeline(scheduler_image):
    config = json.loads(podman_command("image", "inspect", scheduler_image).stdout)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Cmd"][0] == "luigid"
    assert in_image(scheduler_image, "id", "-u").stdout.strip() == "10001"
    assert "--state-path" in in_image(scheduler_image, "luigid", "--help").stdout
    modules = (
        "luigi.server",
        "luigi.db_task_history",
        "sqlalchemy",
        "prometheus_client",
        "pandas",
        "duckdb",
        "boto3",
        "bottleneck",
    )
    script = f"import importlib.util; print(*[importlib.util.find_spec(m) is not None for m in {modules}])"
    found = dict(zip(modules, in_image(scheduler_image, "python", "-c", script).stdout.split(), strict=True))
    assert found == {**dict.fromkeys(modules[:4], "True"), **dict.fromkeys(modules[4:], "False")}


def sizes(image: str) -> dict:
    uncompressed = int(podman_command("image", "inspect", "--format", "{{.Size}}", image).stdout)
    save = subprocess.Popen(["podman", "save", image], stdout=subprocess.PIPE)
    gzip = subprocess.run(["gzip", "-c"], stdin=save.stdout, stdout=subprocess.PIPE, timeout=900)
    save.wait()
    return {"uncompressed_bytes": uncompressed, "gzip_bytes": len(gzip.stdout)}


def test_image_is_smaller_than_a_plain_pip_install(image, scheduler_image):
    plain = "localhost/bottleneck:test-plain"
    build(plain, "tests/deploy/Dockerfile.plain")
    figures = {
        "multi-stage (Dockerfile)": sizes(image),
        "plain pip install (tests/deploy/Dockerfile.plain)": sizes(plain),
        "luigid (Dockerfile --target scheduler)": sizes(scheduler_image),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "image-sizes.json").write_text(json.dumps(figures, indent=2) + "\n")
    ours, theirs = list(figures.values())[:2]
    assert ours["uncompressed_bytes"] < theirs["uncompressed_bytes"]
    assert ours["gzip_bytes"] < theirs["gzip_bytes"]


def test_the_runtime_adds_at_most_180_mb_to_its_base(image, scheduler_image):
    def uncompressed(tag: str) -> int:
        return int(podman_command("image", "inspect", "--format", "{{.Size}}", tag).stdout)

    base = base_image() or BASE
    added = {tag: uncompressed(tag) - uncompressed(base) for tag in (image, scheduler_image)}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "image-added-to-base.txt").write_text(
        "".join(f"{tag}: {size / 1e6:.1f} MB over {base}\n" for tag, size in added.items())
    )
    assert added[image] <= RUNTIME_BUDGET_MB * 1_000_000, f"the runtime adds {added[image] / 1e6:.0f} MB to {base}"


# ----------------------------------------------------------------------------- end to end


def container_image(pod_template: dict) -> str:
    (container,) = pod_template["spec"]["containers"]
    return container["image"]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_cronjob_from_the_chart_runs_the_month_in_the_image(
    image, scheduler_image, render_chart, s3_server, smtp_server, tmp_path
):
    from bottleneck import config
    from bottleneck.demo import synthetic_month

    smtp = smtp_server.get("starttls", login=True)
    scheduler_port = free_port()
    month = config.current_month()
    client = s3_server.client()
    client.create_bucket(Bucket="deploy-lake")
    for source, data in synthetic_month(month, products=120, seed=4).items():
        client.put_object(Bucket="deploy-lake", Key=f"monthly/raw/{month:%Y/%m}/{source}.xlsx", Body=data)

    def local(tag: str) -> dict:
        repository, tag = tag.rsplit(":", 1)
        return {"repository": repository, "tag": tag, "pullPolicy": "Never"}

    values = {
        "image": local(image),
        "lake": "s3://deploy-lake/monthly",
        "aws": {"region": "us-east-1", "endpointUrl": s3_server.endpoint},
        "smtp": {
            "host": smtp.host,
            "port": smtp.port,
            "tls": "starttls",
            "username": SMTP_LOGIN,
            "timeout": 10,
            "caBundle": "/etc/bottleneck-ca/ca.pem",
        },
        "email": {"sender": "reports@bottleneck.test", "recipients": ["direction@bottleneck.test"]},
        "alertRecipients": ["ops@bottleneck.test"],
        "secretValues": {"smtpPassword": SMTP_PASSWORD, "awsAccessKeyId": "testing", "awsSecretAccessKey": "testing"},
        "extraVolumes": [{"name": "smtp-ca", "configMap": {"name": "smtp-ca"}}],
        "extraVolumeMounts": [{"name": "smtp-ca", "mountPath": "/etc/bottleneck-ca", "readOnly": True}],
        "scheduler": {"port": scheduler_port, "image": local(scheduler_image)},
    }
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    docs, _ = render_chart(values_file)
    extra = {"smtp-ca": {"ca.pem": Path(smtp.ca_bundle).read_text()}}
    service = find(docs, "Service", "scheduler")["metadata"]["name"]
    claim = tmp_path / "luigid-volume"
    claim.mkdir()

    # luigid, from its Deployment and in the image it names; the Service name resolves to loopback as
    # cluster DNS would.
    deployment = find(docs, "Deployment", "scheduler")
    options, command = podman_run_args(
        docs,
        deployment["spec"]["template"],
        "luigid",
        tmp_path / "luigid",
        claims={find(docs, "PersistentVolumeClaim")["metadata"]["name"]: claim},
    )
    name = f"bottleneck-luigid-{scheduler_port}"
    podman_command("run", "-d", "--name", name, *options, container_image(deployment["spec"]["template"]), *command)
    try:
        try:
            wait_for_port(scheduler_port, timeout=60)
        except TimeoutError:
            raise AssertionError(podman_command("logs", name, check=False).stderr[-4000:]) from None
        cron_pod = find(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]
        options, command = podman_run_args(
            docs, cron_pod, "bottleneck", tmp_path / "cron", configmaps=extra, hosts={service: "127.0.0.1"}
        )
        assert command == ["bottleneck-run", "RunMonth"]
        run = podman_command("run", *options, container_image(cron_pod), *command, timeout=600, check=False)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "deploy-cronjob-run.log").write_text(run.stdout + run.stderr)
        assert run.returncode == 0, run.stderr[-4000:]
        assert SMTP_PASSWORD not in run.stdout + run.stderr

        listing = client.list_objects_v2(Bucket="deploy-lake", Prefix=f"monthly/reports/{month:%Y/%m}/")
        assert {item["Key"].rsplit("/", 1)[1] for item in listing.get("Contents", [])} >= REPORT_FILES
        ((message, envelope),) = smtp.received()
        assert envelope["login"] == SMTP_LOGIN
        assert envelope["rcpt_tos"] == ["direction@bottleneck.test"]
        assert f"{month:%Y-%m}" in message["Subject"]

        # The run went through luigid: its tasks are DONE there, counted in its metrics.
        done = get_json(
            f"http://127.0.0.1:{scheduler_port}/api/task_list?data="
            + urllib.parse.quote(json.dumps({"status": "DONE"}))
        )["response"]
        assert any(task_id.startswith("RunMonth") for task_id in done), sorted(done)
        with urllib.request.urlopen(f"http://127.0.0.1:{scheduler_port}/metrics", timeout=10) as response:
            assert b"luigi_task_" in response.read()

        # The helm test Pod's check, with the same configuration, from the same image.
        test_pod = next(d for d in docs if d["kind"] == "Pod")
        options, command = podman_run_args(
            docs, test_pod, "bottleneck", tmp_path / "helm-test", configmaps=extra, hosts={service: "127.0.0.1"}
        )
        check = podman_command("run", *options, container_image(test_pod), *command, timeout=120)
        assert command == ["bottleneck-admin", "check"]
        assert "ok      lake: s3://deploy-lake/monthly reachable, writable" in check.stdout, check.stdout
        assert (
            f"ok      smtp: {smtp.host}:{smtp.port} answers, TLS certificate and host name verified, "
            f"logged in as {SMTP_LOGIN}"
        ) in check.stdout, check.stdout
        assert f"ok      scheduler: http://{service}:{scheduler_port}/ answers" in check.stdout, check.stdout
        assert f"ok      locks: s3://deploy-lake at {s3_server.endpoint} honours If-None-Match and If-Match" in (
            check.stdout
        )
        assert "ok      delivery: smtp: the report to direction@bottleneck.test, the alerts to ops@bottleneck.test" in (
            check.stdout
        )
        assert SMTP_PASSWORD not in check.stdout + check.stderr
    finally:
        podman_command("stop", "-t", "20", name, check=False)
        podman_command("rm", "-f", name, check=False)
    # State and task history survived on the volume.
    assert (claim / "luigi-state.pickle").stat().st_size > 0
    assert (claim / "task-history.db").stat().st_size > 0


# The month's run as the tests below give it to the image.
RUN_AUGUST = ["bottleneck-run", "RunMonth", "--month", "2020-08", "--local-scheduler"]


def test_the_image_sends_or_refuses_to_start(image, tmp_path):
    """Its own luigi.cfg says delivery = smtp: without [smtp] host and receivers a run refuses, exit 10."""
    options = ["--rm", "--read-only", "--tmpfs", "/tmp", "-e", "BOTTLENECK_LAKE=/tmp/lake"]
    run = podman_command("run", *options, image, *RUN_AUGUST, check=False, timeout=120)
    assert run.returncode == 10, run.stdout + run.stderr
    assert "refused to start: [bottleneck] delivery = smtp, but [smtp] host is empty (Helm chart: smtp.host)" in (
        run.stderr
    )


def run_month_in_image(image: str, folder: Path, work: Path, pushgateway_url: str, memory: int | None):
    """A month of `folder` (raw exports) run by the image in a lake of its own, under a memory limit (bytes) when
    one is given; /tmp on disk, as the chart's emptyDir, not a tmpfs the limit would count."""
    lake, tmp, config = work / "lake", work / "tmp", work / "config"
    (lake / "raw" / "2020" / "08").mkdir(parents=True)
    for source in ("erp", "web", "liaison"):
        shutil.copy(folder / f"{source}.xlsx", lake / "raw" / "2020" / "08" / f"{source}.xlsx")
    tmp.mkdir()
    config.mkdir()
    (config / "luigi.cfg").write_text(f"[bottleneck]\ndelivery = lake\npushgateway = {pushgateway_url}\n")
    for path in (work, lake, tmp, config, *lake.rglob("*")):
        os.chown(path, 10001, 10001)
    options = ["--rm", "--network", "host", "--user", "10001:10001", "--read-only"]
    options += ["--memory", str(memory), "--memory-swap", str(memory)] if memory else []
    options += ["-v", f"{lake}:/lake", "-v", f"{tmp}:/tmp", "-v", f"{config}:/etc/bottleneck:ro"]
    options += ["-e", "BOTTLENECK_LAKE=/lake", "-e", "LUIGI_CONFIG_PATH=/etc/bottleneck/luigi.cfg"]
    return podman_command("run", *options, image, *RUN_AUGUST, check=False, timeout=600)


def pages(limit: int) -> int:
    """A memory limit as the kernel keeps it: whole pages."""
    return limit - limit % os.sysconf("SC_PAGE_SIZE")


def test_a_run_near_its_memory_limit_says_so_and_pushes_its_peak_before_the_kernel_kills_it(
    image, seed_month, pushgateway, tmp_path
):
    from benchmarks.scale_month import scaled_month

    folder, _ = scaled_month(100, seed_month)  # a web export of 34 MB: memory grows for seconds past the imports
    free = run_month_in_image(image, folder, tmp_path / "free", pushgateway.url, None)
    assert free.returncode == 0, free.stderr[-3000:]
    assert "memory:" not in free.stderr
    peak = pushgateway.samples()[("bottleneck_run_peak_rss_bytes", "2020-08")]
    assert 300e6 < peak < 1e9

    pushgateway.wipe()
    roomy = int(peak / 0.9)  # the peak at 90% of the limit (runs differ by a few %): warned, not killed
    near = run_month_in_image(image, folder, tmp_path / "near", pushgateway.url, roomy)
    assert near.returncode == 0, near.stderr[-3000:]
    warned = re.search(r"memory: peak RSS [\d,]+ MB is (\d+)% of this container's limit", near.stderr)
    assert warned, f"no warning; {pushgateway.samples()}, limit {roomy}: {near.stderr[-2000:]}"
    assert int(warned.group(1)) >= 80
    pushed = pushgateway.samples()
    assert pushed[("bottleneck_memory_limit_bytes", "2020-08")] == pages(roomy)
    assert pushed[("bottleneck_run_peak_rss_bytes", "2020-08")] >= 0.8 * roomy

    pushgateway.wipe()
    tight = int(peak * 0.7)  # well below the peak: the kernel kills the run, which said so first
    killed = run_month_in_image(image, folder, tmp_path / "killed", pushgateway.url, tight)
    assert killed.returncode == 137, killed.stderr[-3000:]
    assert "memory: peak RSS" in killed.stderr, killed.stderr[-3000:]
    pushed = pushgateway.samples()
    assert pushed[("bottleneck_memory_limit_bytes", "2020-08")] == pages(tight)
    assert pushed[("bottleneck_run_peak_rss_bytes", "2020-08")] >= 0.8 * tight
    assert ("bottleneck_run_success", "2020-08") not in pushed, "it never ended"
