"""bottleneck.preflight: how the emails go is a stated choice; a run that would send them to nobody refuses to start
(exit 10) before any task, naming each setting; `delivery = lake` writes them to the lake whatever [smtp] says.
Real `bottleneck-run` and `luigi` processes, a real SMTP server and Pushgateway."""

import datetime as dt
import json

import pytest

from bottleneck import mail, preflight
from bottleneck.demo import synthetic_month
from bottleneck.errors import ConfigurationError
from tests.months import files_under, raw_folder, run, run_month
from tests.scheduler.runs import runs_in_log

MONTH = "2020-08"
NO_HOST = "[smtp] host is empty (Helm chart: smtp.host)"
NO_READER = "[email] receiver is empty (Helm chart: email.recipients)"
NO_OPERATOR = "[bottleneck] alert_receivers is empty (Helm chart: alertRecipients)"


@pytest.fixture
def lake(tmp_path):
    root = tmp_path / "lake"
    for source, data in synthetic_month(dt.date(2020, 8, 1), products=120, seed=7).items():
        (raw_folder(root, MONTH) / f"{source}.xlsx").write_bytes(data)
    return root


def configured(tmp_path, text: str) -> dict:
    (tmp_path / "luigi.cfg").write_text(text)
    return {"LUIGI_CONFIG_PATH": str(tmp_path / "luigi.cfg")}


def test_unset_delivery_sends_when_an_smtp_host_is_set_and_writes_to_the_lake_otherwise(luigi_options):
    assert mail.delivery_mode() == "lake"
    luigi_options("smtp", "host", "smtp.example.com")
    assert mail.delivery_mode() == "smtp"
    luigi_options("bottleneck", "delivery", "lake")
    assert mail.delivery_mode() == "lake", "a stated lake is not overridden by a host"


def test_smtp_delivery_names_every_setting_it_lacks(luigi_options):
    luigi_options("bottleneck", "delivery", "smtp")
    assert preflight.delivery_problems() == [NO_HOST, NO_READER, NO_OPERATOR]
    luigi_options("smtp", "host", "smtp.example.com")
    luigi_options("email", "receiver", "pm@example.com")
    assert preflight.delivery_problems() == [NO_OPERATOR], "a stated smtp delivery needs its own operators"
    luigi_options("bottleneck", "alert_receivers", "ops@example.com")
    assert preflight.delivery_problems() == []
    preflight.require_delivery()


def test_unset_delivery_with_a_host_lets_the_alerts_go_to_the_readers(luigi_options):
    luigi_options("smtp", "host", "smtp.example.com")
    assert preflight.delivery_problems() == [NO_READER]
    luigi_options("email", "receiver", "pm@example.com")
    assert preflight.delivery_problems() == []


def test_lake_delivery_needs_nothing(luigi_options):
    luigi_options("bottleneck", "delivery", "lake")
    assert preflight.delivery_problems() == []


def test_a_delivery_out_of_its_choices_is_refused_by_name(luigi_options):
    luigi_options("bottleneck", "delivery", "email")
    with pytest.raises(ConfigurationError, match=r"\[bottleneck\] delivery = 'email': the choices are smtp and lake"):
        preflight.require_delivery()


def test_smtp_delivery_without_host_refuses_to_start_before_any_task(lake, tmp_path, pushgateway):
    before = files_under(lake)
    env = configured(tmp_path, f"[bottleneck]\ndelivery = smtp\npushgateway = {pushgateway.url}\n")
    result = run_month(lake, tmp_path, MONTH, env)
    assert result.returncode == 10, result.stderr[-3000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("bottleneck-run: refused to start:")]
    assert f"[bottleneck] delivery = smtp, but {NO_HOST}; {NO_READER}; {NO_OPERATOR}" in line
    assert "set [bottleneck] delivery = lake to write the emails to the lake" in line
    assert "Traceback" not in result.stderr
    assert not runs_in_log(result.stderr), "a task of the month ran"
    assert files_under(lake) == before, "nothing written: no staging, no marker, no alert"
    pushed = pushgateway.samples()
    assert pushed[("bottleneck_run_exit_code", MONTH)] == 10
    assert pushed[("bottleneck_run_success", MONTH)] == 0


def test_a_stated_delivery_on_the_command_line_counts(lake, tmp_path):
    env = configured(tmp_path, "[bottleneck]\ndelivery = smtp\n")
    args = ["RunMonth", "--month", MONTH, "--local-scheduler", "--bottleneck-delivery", "lake"]
    result = run(args, lake, tmp_path, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (lake / "reports/2020/08/email.eml").exists()


def test_plain_luigi_refuses_while_it_schedules_before_any_task(lake, tmp_path):
    before = files_under(lake)
    env = configured(tmp_path, "[bottleneck]\ndelivery = smtp\n[email]\nreceiver = pm@example.com\n")
    args = ["--module", "bottleneck", "RunMonth", "--month", MONTH, "--local-scheduler"]
    result = run(args, lake, tmp_path, env, command="luigi")
    assert result.returncode == 5, result.stderr[-3000:]  # Luigi's scheduling error
    assert f"ConfigurationError: [bottleneck] delivery = smtp, but {NO_HOST}; {NO_OPERATOR}" in result.stderr
    assert files_under(lake) == before


def test_lake_delivery_writes_the_email_to_the_lake_and_sends_nothing_even_with_a_host(lake, tmp_path, smtp_server):
    server = smtp_server.get("plain")
    smtp = "".join(f"{key} = {value}\n" for key, value in server.smtp_options().items())
    env = configured(tmp_path, f"[bottleneck]\ndelivery = lake\n[smtp]\n{smtp}[email]\nreceiver = pm@example.com\n")
    result = run_month(lake, tmp_path, MONTH, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert server.received() == []
    receipt = json.loads((lake / "reports/2020/08/email.json").read_text())
    assert receipt["transport"] == "eml"
    assert (lake / "reports/2020/08/email.eml").exists()
    assert "delivery = lake: email 'BottleNeck wine report 2020-08" in result.stderr
