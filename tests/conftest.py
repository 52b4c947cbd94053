"""Session fixtures: real server processes on loopback (S3, SMTP, luigid) and the real seed month."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED_MONTH = REPO.parent / "shared" / "data" / "seed-month"


# In CI (CI=true) a skipped test is a failure: a missing tool, package or data set must turn CI red, not quietly
# shrink the suite. The allow-list: the start of a skip reason, and why CI may skip it.
CI_ALLOWED_SKIPS = {
    "podman cannot run containers here": "podman is installed, but the CI runner itself may be a container "
    "without user namespaces; the image tests then cannot run anywhere",
}


def _skip_fails_in_ci(report) -> None:
    if os.environ.get("CI") != "true" or not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    reason = reason.removeprefix("Skipped: ")
    if any(reason.startswith(allowed) for allowed in CI_ALLOWED_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, which counts as a failure (tests/conftest.py CI_ALLOWED_SKIPS): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _skip_fails_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _skip_fails_in_ci(outcome.get_result())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ServerProcess:
    """A server run as a child process on a loopback port; `start()` again after `stop()` keeps the port.

    Subclasses say how to run it (`command()`, `environment()`); its output goes to `log` when set,
    and is shown if the process exits before it listens.
    """

    port: int
    process: subprocess.Popen | None = None
    log: Path | None = None
    start_timeout = 20.0

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict | None:
        return None

    def start(self) -> None:
        with open(self.log, "ab") if self.log else contextlib.nullcontext(subprocess.DEVNULL) as output:
            self.process = subprocess.Popen(
                self.command(), env=self.environment(), stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.start_timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        said = self.log.read_text()[-3000:] if self.log else ""
        state = f"exited with {self.process.returncode}" if self.process.poll() is not None else "not listening"
        self.stop()
        raise RuntimeError(f"{self.command()[0]} {state} on 127.0.0.1:{self.port}:\n{said}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture(scope="session")
def seed_month() -> Path:
    """The real exports of one month, shipped beside the project, never inside it."""
    if not (SEED_MONTH / "erp.xlsx").exists():
        pytest.skip(f"the real seed month is absent: {SEED_MONTH}")
    return SEED_MONTH


class S3Server(ServerProcess):
    """A moto standalone server process (its objects live in its memory: stopping it empties it)."""

    def __init__(self, port: int):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"

    def command(self) -> list[str]:
        executable = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or "moto_server"
        return [executable, "-H", "127.0.0.1", "-p", str(self.port)]

    def env(self) -> dict:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client(self):
        import boto3

        env = self.env()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server process (moto) on loopback for the whole session."""
    server = S3Server(free_port())
    server.start()
    yield server
    server.stop()


class S3HeaderProxy(ServerProcess):
    """tests/s3_header_proxy.py in front of an S3 server: a store that takes the conditional headers it drops
    (If-None-Match, If-Match) and ignores them."""

    def __init__(self, target: S3Server, dropped: tuple[str, ...], port: int):
        self.target, self.dropped, self.port = target, dropped, port
        self.endpoint = f"http://127.0.0.1:{port}"

    def command(self) -> list[str]:
        drops = [argument for header in self.dropped for argument in ("--drop", header)]
        script = str(REPO / "tests" / "s3_header_proxy.py")
        return [sys.executable, script, "--listen", str(self.port), "--target", str(self.target.port), *drops]

    def env(self) -> dict:
        return {**self.target.env(), "AWS_ENDPOINT_URL": self.endpoint}


@pytest.fixture
def s3_ignoring(s3_server):
    """Starts stores that ignore conditional headers: `s3_ignoring("If-Match")` is a proxy process in front of the
    session's S3 server dropping If-Match; its `env()` points boto3 at it. Stopped after the test."""
    proxies = []

    def start(*dropped: str) -> S3HeaderProxy:
        proxy = S3HeaderProxy(s3_server, dropped, free_port())
        proxy.start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """Points boto3 in this process at the loopback S3 server."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server.env()


# ---------------------------------------------------------------------------------------------------------------
# SMTP: aiosmtpd server processes in plain, STARTTLS and implicit TLS modes, with a trustme test CA.

SMTP_LOGIN = "reports@bottleneck.test"
# Distinctive, so a test can search every output for it.
SMTP_PASSWORD = "pw-9f3Kq-never-in-output-7Xz"


class SmtpServer(ServerProcess):
    """One tests/smtp_server.py process; `start()` again after `stop()` keeps its port and mailbox.

    Received messages land in `maildir` as files; `reject()` makes it refuse every message with a 5xx.
    """

    def __init__(self, mode: str, port: int, root: Path, tls_files: dict, login: str | None = None):
        self.mode, self.port, self.login = mode, port, login
        self.host = "localhost"  # the name on the test certificate
        self.maildir, self.control = root / "mail", root / "control"
        self.maildir.mkdir(parents=True, exist_ok=True)
        self.control.mkdir(parents=True, exist_ok=True)
        self.ca_bundle = tls_files["ca"]
        self.tls_files = tls_files

    def command(self) -> list[str]:
        command = [
            sys.executable,
            str(REPO / "tests" / "smtp_server.py"),
            "--port",
            str(self.port),
            "--mode",
            self.mode,
            "--maildir",
            str(self.maildir),
            "--control",
            str(self.control),
        ]
        if self.mode != "plain":
            command += ["--cert", self.tls_files["cert"], "--key", self.tls_files["key"]]
        return command + (["--login", self.login] if self.login else [])

    def environment(self) -> dict:
        return dict(os.environ, SMTP_SERVER_PASSWORD=SMTP_PASSWORD) if self.login else dict(os.environ)

    def clear(self) -> None:
        """Empties the mailbox and accepts mail again; restarts the process if a test left it down."""
        for file in self.maildir.iterdir():
            file.unlink()
        self.accept()
        if not self.running():
            self.start()

    def reject(self, reply: str = "554 5.7.1 Message refused by policy") -> None:
        (self.control / "reject").write_text(reply)

    def accept(self) -> None:
        (self.control / "reject").unlink(missing_ok=True)

    def received(self) -> list[tuple]:
        """(message, envelope) of each message received, in order; message parsed by the email package."""
        import email
        import email.policy
        import json

        numbers = sorted(int(path.stem) for path in self.maildir.glob("*.eml"))
        return [
            (
                email.message_from_bytes((self.maildir / f"{n}.eml").read_bytes(), policy=email.policy.default),
                json.loads((self.maildir / f"{n}.json").read_text()),
            )
            for n in numbers
        ]

    def raw(self) -> list[bytes]:
        return [path.read_bytes() for path in sorted(self.maildir.glob("*.eml"), key=lambda p: int(p.stem))]

    def smtp_options(self, password: str | None = None) -> dict:
        """The [smtp] options that reach this server (password: the value to write, e.g. '${SMTP_PASSWORD}')."""
        options = {"host": self.host, "port": str(self.port), "timeout": "5"}
        if self.mode == "plain":
            options["no_tls"] = "true"
        if self.mode == "tls":
            options["ssl"] = "true"
        if self.login:
            options.update(username=self.login, password=password or SMTP_PASSWORD)
        return options

    def settings_kwargs(self) -> dict:
        """Keyword arguments of bottleneck.mail.SmtpSettings that reach this server."""
        return {
            "host": self.host,
            "port": self.port,
            "ssl": self.mode == "tls",
            "no_tls": self.mode == "plain",
            "username": self.login,
            "password": SMTP_PASSWORD if self.login else None,
            "timeout": 5.0,
            "ca_bundle": self.ca_bundle,
            "retry_seconds": 20.0,
        }


class SmtpServers:
    """The session's SMTP servers, one per (mode, with login), started on first use."""

    def __init__(self, root: Path):
        import trustme

        self.root = root
        ca = trustme.CA()
        # The certificate names localhost only, so connecting by address tests host-name verification.
        certificate = ca.issue_cert("localhost")
        self.tls_files = {"ca": str(root / "ca.pem"), "cert": str(root / "cert.pem"), "key": str(root / "key.pem")}
        ca.cert_pem.write_to_path(self.tls_files["ca"])
        certificate.private_key_pem.write_to_path(self.tls_files["key"])
        with open(self.tls_files["cert"], "wb") as chain:
            for blob in certificate.cert_chain_pems:
                chain.write(blob.bytes())
        self.servers: dict[tuple, SmtpServer] = {}

    def get(self, mode: str, login: bool = False) -> SmtpServer:
        """A running server in `mode` ('plain', 'starttls' or 'tls'), its mailbox emptied, accepting mail."""
        key = (mode, login)
        if key not in self.servers:
            server = SmtpServer(
                mode,
                free_port(),
                self.root / f"{mode}-{'login' if login else 'open'}",
                self.tls_files,
                SMTP_LOGIN if login else None,
            )
            server.start()
            self.servers[key] = server
        server = self.servers[key]
        server.clear()
        return server

    def stop_all(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    """Real SMTP server processes (aiosmtpd) on loopback: `smtp_server.get('plain'|'starttls'|'tls', login=...)`."""
    for module in ("aiosmtpd", "trustme"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[test]')")
    servers = SmtpServers(tmp_path_factory.mktemp("smtp"))
    yield servers
    servers.stop_all()


@pytest.fixture
def luigi_options():
    """Sets luigi.cfg options for one test, restoring what was there after."""
    import luigi.configuration

    config = luigi.configuration.get_config()
    saved = []

    def set_option(section: str, option: str, value: str) -> None:
        if not config.has_section(section):
            config.add_section(section)
        old = config.get(section, option, raw=True) if config.has_option(section, option) else None
        saved.append((section, option, old))
        config.set(section, option, value)

    yield set_option
    for section, option, old in reversed(saved):
        if old is None:
            config.remove_option(section, option)
        else:
            config.set(section, option, old)


@pytest.fixture
def local_lake(tmp_path, monkeypatch):
    """A local lake for one test, through BOTTLENECK_LAKE (inherited by forked Luigi workers)."""
    monkeypatch.setenv("BOTTLENECK_LAKE", str(tmp_path / "lake"))
    return tmp_path / "lake"


# ---------------------------------------------------------------------------------------------------------------
# luigid: a real central scheduler process on loopback, with its own state file and task history database.


class Luigid(ServerProcess):
    """One `luigid` process: state pickle, task history (sqlite) and Prometheus metrics in `root`."""

    def __init__(self, root: Path, port: int):
        self.root, self.port = root, port
        self.url = f"http://127.0.0.1:{port}/"
        self.history_db = root / "task-history.sqlite"
        self.log = root / "luigid.log"
        self.config = root / "luigid.cfg"

    def config_text(self) -> str:
        """The luigid configuration under test; k8s/ and the chart carry the same options."""
        return (
            "[scheduler]\n"
            f"state_path = {self.root / 'state.pickle'}\n"
            "record_task_history = true\n"
            "metrics_collector = prometheus\n"
            "[task_history]\n"
            f"db_connection = sqlite:///{self.history_db}\n"
        )

    def command(self) -> list[str]:
        executable = shutil.which("luigid", path=os.path.dirname(sys.executable)) or "luigid"
        return [executable, "--address", "127.0.0.1", "--port", str(self.port)]

    def environment(self) -> dict:
        self.config.write_text(self.config_text())
        return dict(os.environ, LUIGI_CONFIG_PATH=str(self.config))

    def api(self, method: str, **arguments):
        """Calls luigid's JSON API as the visualiser does: GET /api/<method>?data=<json>."""
        import json
        import urllib.parse
        import urllib.request

        query = urllib.parse.urlencode({"data": json.dumps(arguments)})
        with urllib.request.urlopen(f"{self.url}api/{method}?{query}", timeout=10) as reply:
            return json.loads(reply.read())["response"]

    def get(self, path: str) -> str:
        import urllib.request

        with urllib.request.urlopen(self.url + path, timeout=10) as reply:
            return reply.read().decode()

    def luigi_cfg(self) -> str:
        """The [core] lines that point a worker at this scheduler."""
        return f"[core]\nscheduler_host = 127.0.0.1\nscheduler_port = {self.port}\n"


@pytest.fixture
def luigid(tmp_path_factory):
    """A fresh luigid process on loopback for one test (so its task list holds only that test's runs)."""
    for module in ("sqlalchemy", "prometheus_client"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[scheduler]')")
    server = Luigid(tmp_path_factory.mktemp("luigid"), free_port())
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------------------------------------------------------
# Prometheus Pushgateway: the real server process (Debian package prometheus-pushgateway) on loopback.

PUSHGATEWAY = (
    os.environ.get("PUSHGATEWAY_BIN") or shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"
)


class Pushgateway(ServerProcess):
    """One prometheus-pushgateway process, its metrics in memory; `wipe()` empties it between tests."""

    def __init__(self, port: int, root: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = root / "pushgateway.log"

    def command(self) -> list[str]:
        return [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-admin-api"]

    def wipe(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/api/v1/admin/wipe", method="PUT"), timeout=10)

    def samples(self) -> dict[tuple[str, str], float]:
        """{(metric name, month label): value} of the bottleneck job, read back from /metrics."""
        import urllib.request

        from prometheus_client.parser import text_string_to_metric_families

        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        return {
            (sample.name, sample.labels.get("month", "")): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.labels.get("job") == "bottleneck"
        }


@pytest.fixture(scope="session")
def pushgateway_server(tmp_path_factory):
    if not os.access(PUSHGATEWAY, os.X_OK):
        pytest.skip(f"{PUSHGATEWAY} is not installed (Debian package prometheus-pushgateway; .ci/run installs it)")
    server = Pushgateway(free_port(), tmp_path_factory.mktemp("pushgateway"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pushgateway(pushgateway_server):
    """The session's Pushgateway, emptied for this test."""
    pushgateway_server.wipe()
    return pushgateway_server
