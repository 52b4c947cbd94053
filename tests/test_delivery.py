"""The month's email and failure alert through the real task tree and `bottleneck-run`, to a real SMTP server."""

import datetime as dt
import email
import email.policy
import json
import re
import threading

import pytest

from bottleneck import mail
from tests.conftest import SMTP_LOGIN, SMTP_PASSWORD
from tests.months import raw_folder, run_month

MONTH = "2020-08"
REPORTS = ("reports", "2020", "08")


@pytest.fixture(scope="session")
def synthetic_exports():
    from bottleneck.demo import synthetic_month

    return synthetic_month(dt.date(2020, 8, 1))


@pytest.fixture
def lake(tmp_path, synthetic_exports):
    root = tmp_path / "lake"
    folder = raw_folder(root, MONTH)
    for source, data in synthetic_exports.items():
        (folder / f"{source}.xlsx").write_bytes(data)
    return root


def write_config(tmp_path, server=None, **bottleneck_options) -> dict:
    """A luigi.cfg as an operator writes it, the password taken from the environment; returns the env to run with."""
    # A lock folder of its own: Luigi refuses a command line another process (another test session) is running.
    sections = {
        "core": {"lock_pid_dir": str(tmp_path / "locks")},
        "email": {"sender": "wines@bottleneck.test", "receiver": "pm@bottleneck.test, cfo@bottleneck.test"},
        "bottleneck": {"alert_receivers": "oncall@bottleneck.test", **bottleneck_options},
    }
    if server is not None:
        sections["smtp"] = server.smtp_options(password="${SMTP_PASSWORD}")
        sections["bottleneck"]["smtp_ca_bundle"] = server.ca_bundle
    text = "".join(
        f"[{name}]\n" + "".join(f"{key}={value}\n" for key, value in options.items()) + "\n"
        for name, options in sections.items()
    )
    (tmp_path / "luigi.cfg").write_text(text)
    return {"LUIGI_CONFIG_PATH": str(tmp_path / "luigi.cfg"), "SMTP_PASSWORD": SMTP_PASSWORD}


def no_password_anywhere(result, lake, server=None) -> None:
    assert SMTP_PASSWORD not in result.stdout + result.stderr
    for path in lake.rglob("*"):
        if path.is_file():
            assert SMTP_PASSWORD.encode() not in path.read_bytes(), path
    for data in server.raw() if server else []:
        assert SMTP_PASSWORD.encode() not in data


def stored(lake, name: str) -> bytes:
    return lake.joinpath(*REPORTS, name).read_bytes()


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def check_report_email(message, lake) -> None:
    quality = json.loads(stored(lake, "quality.json"))
    assert MONTH in message["Subject"]
    text, page = (message.get_body((kind,)).get_content() for kind in ("plain", "html"))
    money = mail.money(quality["turnover"])
    for body in (text, page):
        for figure in (f"{quality['products']:,}", f"{quality['premium']:,}", f"{quality['ordinary']:,}", money):
            assert figure in body
        for check in quality["checks"]:
            assert check["name"] in body
    assert re.search(rf"\nProducts +{quality['products']:,} ", text)
    assert re.search(rf"\nTurnover +{money} ", text)
    attachments = {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
    assert attachments == {name: stored(lake, name) for name in mail.ATTACHMENTS}


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "login"), [("plain", False), ("starttls", True), ("tls", True)])
def test_the_month_report_arrives_whole_and_a_rerun_sends_nothing(smtp_server, lake, tmp_path, mode, login):
    server = smtp_server.get(mode, login=login)
    env = write_config(tmp_path, server)
    result = run_month(lake, tmp_path, MONTH, env)
    assert result.returncode == 0, result.stderr
    [(message, envelope)] = server.received()
    assert envelope["rcpt_tos"] == ["pm@bottleneck.test", "cfo@bottleneck.test"]
    check_report_email(message, lake)
    receipt = json.loads(stored(lake, "email.json"))
    assert receipt["message_id"] == message["Message-ID"]
    assert receipt["transport"] == "smtp"
    assert receipt["recipients"] == ["pm@bottleneck.test", "cfo@bottleneck.test"]
    assert SMTP_LOGIN not in json.dumps(receipt)
    assert not lake.joinpath(*REPORTS, "email.eml").exists()
    no_password_anywhere(result, lake, server)

    again = run_month(lake, tmp_path, MONTH, env)
    assert again.returncode == 0, again.stderr
    assert len(server.received()) == 1


@pytest.mark.slow
def test_a_5xx_fails_the_run_clearly_and_the_rerun_sends_only_the_email(smtp_server, lake, tmp_path):
    server = smtp_server.get("starttls", login=True)
    env = write_config(tmp_path, server)
    server.reject("554 5.7.1 Message refused by policy")
    failed = run_month(lake, tmp_path, MONTH, env)
    assert failed.returncode == 8, failed.stderr
    assert "DeliveryError" in failed.stderr
    assert "not delivered: permanent failure, not retried" in failed.stderr
    assert "554 5.7.1 Message refused by policy" in failed.stderr
    assert lake.joinpath(*REPORTS, "report.xlsx").exists()
    assert not lake.joinpath(*REPORTS, "email.json").exists()
    no_password_anywhere(failed, lake, server)

    server.accept()
    rerun = run_month(lake, tmp_path, MONTH, env)
    assert rerun.returncode == 0, rerun.stderr
    ran = set(re.findall(r"\) running +(\w+)\(month=2020-08\)", rerun.stderr))
    assert ran == {"MonthEmail", "RunMonth"}, ran  # RunMonth only wraps
    [(message, _)] = server.received()
    check_report_email(message, lake)


@pytest.mark.slow
def test_a_refused_login_fails_at_once_without_showing_the_password(smtp_server, lake, tmp_path):
    server = smtp_server.get("tls", login=True)
    env = {**write_config(tmp_path, server), "SMTP_PASSWORD": "not-" + SMTP_PASSWORD}
    result = run_month(lake, tmp_path, MONTH, env)
    assert result.returncode == 8, result.stderr
    assert "refused the login" in result.stderr
    assert "check [smtp] username and password" in result.stderr
    assert "not-" + SMTP_PASSWORD not in result.stdout + result.stderr
    no_password_anywhere(result, lake, server)
    assert server.received() == []


@pytest.mark.slow
def test_a_failed_run_sends_one_alert_and_no_report(smtp_server, lake, tmp_path):
    server = smtp_server.get("starttls", login=True)
    env = write_config(tmp_path, server)
    raw_folder(lake, MONTH).joinpath("web.xlsx").write_bytes(b"")
    result = run_month(lake, tmp_path, MONTH, env)
    assert result.returncode == 3, result.stderr
    received = server.received()
    assert len(received) == 1, "one failure alert expected: is bottleneck.events imported?"
    [(alert, envelope)] = received
    assert envelope["rcpt_tos"] == ["oncall@bottleneck.test"]
    assert MONTH in alert["Subject"]
    assert "RawManifest" in alert["Subject"]
    text = alert.get_body(("plain",)).get_content()
    assert "MissingSourceError: 2020-08: raw exports not ready" in text
    assert f"bottleneck-run RunMonth --month {MONTH}" in text
    assert not lake.joinpath("reports").exists()
    no_password_anywhere(result, lake, server)


@pytest.mark.slow
def test_the_server_down_then_back_within_the_retry_window_still_delivers(smtp_server, lake, tmp_path):
    server = smtp_server.get("tls", login=True)
    env = write_config(tmp_path, server, smtp_retry_seconds="90")
    server.stop()
    # The month takes a few seconds before its email: the server comes back while the email is retried.
    restart = threading.Timer(8.0, server.start)
    restart.start()
    try:
        result = run_month(lake, tmp_path, MONTH, env)
    finally:
        restart.join()
    assert result.returncode == 0, result.stderr
    assert "refused the connection" in result.stderr
    assert "retrying" in result.stderr
    [(message, _)] = server.received()
    check_report_email(message, lake)
    no_password_anywhere(result, lake, server)


@pytest.mark.slow
def test_without_smtp_host_the_email_is_an_eml_file_in_the_month_reports(lake, tmp_path):
    env = write_config(tmp_path)
    result = run_month(lake, tmp_path, MONTH, env)
    assert result.returncode == 0, result.stderr
    eml = lake.joinpath(*REPORTS, "email.eml")
    assert f"written to {eml}" in result.stderr
    check_report_email(parse(eml.read_bytes()), lake)
    receipt = json.loads(stored(lake, "email.json"))
    assert receipt["transport"] == "eml"
    assert receipt["path"] == str(eml)


@pytest.mark.slow
def test_without_smtp_host_a_failed_run_writes_its_alert_beside_the_reports(lake, tmp_path):
    env = write_config(tmp_path)
    raw_folder(lake, MONTH).joinpath("erp.xlsx").unlink()
    result = run_month(lake, tmp_path, MONTH, env)
    assert result.returncode == 3, result.stderr
    alerts = list(lake.joinpath("alerts", "2020", "08").glob("*-alert.eml"))
    assert len(alerts) == 1, "one alert expected: is bottleneck.events imported?"
    assert "RawManifest" in parse(alerts[0].read_bytes())["Subject"]
    assert not lake.joinpath("reports").exists()
