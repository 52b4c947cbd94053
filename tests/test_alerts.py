"""bottleneck.alerts: one failure alert per month and run, from Luigi's events, as .eml or by SMTP."""

import datetime as dt
import email
import email.policy
import logging

import luigi
import luigi.configuration
import pytest

from bottleneck import alerts
from bottleneck.errors import InvalidInputError
from tests.conftest import SMTP_PASSWORD

MONTH = dt.date(2024, 5, 1)


class Breaks(luigi.Task):
    """Fails with a pipeline error after logging a line the alert should show."""

    month = luigi.MonthParameter()
    part = luigi.Parameter(default="a")

    def output(self):
        return luigi.LocalTarget(f"/nonexistent/never-{self.part}")

    def run(self):
        logging.getLogger("luigi-interface").info("reading part %s <of> the month", self.part)
        raise InvalidInputError(f"{self.month:%Y-%m} erp.xlsx: column 'price' breaks rule '<greater than 0>'")


@pytest.fixture(autouse=True)
def installed():
    alerts.start()
    alerts.reset()
    yield
    alerts.reset()


def alert_files(lake_root):
    folder = lake_root / "alerts" / "2024" / "05"
    return sorted(folder.glob("*-alert.eml")) if folder.exists() else []


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def test_luigi_error_emails_are_off_where_luigi_cfg_says_nothing():
    assert luigi.configuration.get_config().get("email", "format") == "none"


@pytest.mark.parametrize("workers", [1, 2])
def test_failures_of_one_month_give_one_alert_written_to_the_lake(local_lake, workers):
    ok = luigi.build(
        [Breaks(month=MONTH, part="a"), Breaks(month=MONTH, part="b")], local_scheduler=True, workers=workers
    )
    assert not ok
    [alert] = alert_files(local_lake)
    message = parse(alert.read_bytes())
    assert "2024-05" in message["Subject"]
    assert "Breaks" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "InvalidInputError: 2024-05 erp.xlsx: column 'price' breaks rule '<greater than 0>'" in text
    assert "reading part" in text
    assert "<of> the month" in text
    assert "bottleneck-run RunMonth --month 2024-05" in text
    page = message.get_body(("html",)).get_content()
    assert "&lt;greater than 0&gt;" in page
    assert "<greater than 0>" not in page
    assert not (local_lake / "reports").exists()


def test_each_failed_month_gets_its_own_alert(local_lake):
    luigi.build([Breaks(month=MONTH), Breaks(month=dt.date(2024, 6, 1))], local_scheduler=True)
    assert len(alert_files(local_lake)) == 1
    assert len(list((local_lake / "alerts" / "2024" / "06").glob("*-alert.eml"))) == 1


def test_alert_goes_by_smtp_to_the_operators(smtp_server, luigi_options, local_lake):
    server = smtp_server.get("starttls", login=True)
    for option, value in server.smtp_options().items():
        luigi_options("smtp", option, value)
    luigi_options("bottleneck", "smtp_ca_bundle", server.ca_bundle)
    luigi_options("bottleneck", "alert_receivers", "oncall@bottleneck.test, ops@bottleneck.test")
    luigi_options("email", "receiver", "pm@bottleneck.test")
    luigi.build([Breaks(month=MONTH, part="a"), Breaks(month=MONTH, part="b")], local_scheduler=True)
    [(message, envelope)] = server.received()
    assert envelope["rcpt_tos"] == ["oncall@bottleneck.test", "ops@bottleneck.test"]
    assert "2024-05" in message["Subject"]
    assert alert_files(local_lake) == []


def test_alert_falls_back_to_the_email_receiver(luigi_options):
    luigi_options("bottleneck", "alert_receivers", "")
    luigi_options("email", "receiver", "pm@bottleneck.test")
    assert alerts.receivers() == ["pm@bottleneck.test"]


def test_an_undeliverable_alert_is_logged_without_the_password_and_the_run_goes_on(
    smtp_server, luigi_options, local_lake, caplog
):
    server = smtp_server.get("tls", login=True)
    server.reject("550 5.7.1 Relaying denied")
    for option, value in server.smtp_options().items():
        luigi_options("smtp", option, value)
    luigi_options("bottleneck", "smtp_ca_bundle", server.ca_bundle)
    luigi_options("bottleneck", "alert_receivers", "oncall@bottleneck.test")
    assert not luigi.build([Breaks(month=MONTH)], local_scheduler=True)
    assert "failure alert for 2024-05 not delivered" in caplog.text
    assert "550 5.7.1 Relaying denied" in caplog.text
    assert SMTP_PASSWORD not in caplog.text


def test_a_failed_gate_shows_its_whole_check_table():
    from bottleneck.errors import QualityGateError

    checks = [
        {
            "name": "the month has products",
            "level": "error",
            "status": "failed",
            "observed": 0,
            "expected": "at least 1",
            "detail": "no product is in erp, liaison and web",
        },
        {
            "name": "no negative stock in erp.xlsx",
            "level": "warning",
            "status": "passed",
            "observed": 0,
            "expected": 0,
            "detail": "",
        },
    ]
    text = alerts.error_text(QualityGateError("2024-05: quality gate failed, no report written", checks))
    lines = text.splitlines()
    assert lines[0] == "QualityGateError: 2024-05: quality gate failed, no report written"
    assert lines[3].split() == ["status", "observed", "expected", "check"]
    assert lines[5].split()[:3] == ["failed", "0", "at"]
    assert lines[5].endswith("the month has products")
    assert lines[6].split()[:2] == ["passed", "0"]
    assert "- the month has products: no product is in erp, liaison and web" in lines
    assert alerts.error_text(InvalidInputError("x")) == "InvalidInputError: x"


def test_a_month_held_by_plausibility_checks_alone_is_told_how_to_release_it_or_re_process_it(local_lake):
    from bottleneck.errors import QualityGateError

    held = [
        {"key": "products", "status": "failed", "kind": "plausibility"},
        {"key": "turnover", "status": "failed", "kind": "plausibility"},
        {"key": "units", "status": "warning", "kind": "plausibility"},
    ]
    steps = alerts.next_steps(QualityGateError("2024-05: held", held), MONTH)
    assert steps is not None
    [(release, commands), (correct, reprocess)] = steps
    assert release.startswith("If the month is right as it is")
    assert commands.splitlines() == [
        'bottleneck-admin accept --month 2024-05 --check products --check turnover --reason "..."',
        "bottleneck-run RunMonth --month 2024-05",
    ]
    assert correct.startswith(f"If an export is wrong, put the corrected one in {local_lake}/raw/2024/05/")
    assert reprocess == "bottleneck-admin reprocess --month 2024-05 --reason TEXT"
    consistency = [*held, {"key": "rows-accounted-for", "status": "failed", "kind": "consistency"}]
    assert [sentence for sentence, _ in alerts.next_steps(QualityGateError("x", consistency), MONTH) or []] == [correct]
    assert alerts.next_steps(InvalidInputError("x"), MONTH) is None
