"""bottleneck-admin check: the setup checked against real lake, SMTP, scheduler and Pushgateway servers."""

from tests.admin.commands import admin_command
from tests.conftest import free_port


def test_check_passes_against_a_reachable_lake_smtp_with_tls_scheduler_and_pushgateway(
    lake, tmp_path, smtp_server, luigid, pushgateway
):
    smtp = smtp_server.get("starttls", login=True)
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text(
        "[smtp]\n"
        + "".join(f"{k} = {v}\n" for k, v in smtp.smtp_options("${SMTP_PASSWORD}").items())
        + f"[bottleneck]\nsmtp_ca_bundle = {smtp.ca_bundle}\npushgateway = {pushgateway.url}\n"
        + "[email]\nreceiver = readers@bottleneck.test\n"
        + luigid.luigi_cfg()
    )
    from tests.conftest import SMTP_PASSWORD

    result = admin_command(["check"], lake, tmp_path, {"LUIGI_CONFIG_PATH": str(cfg), "SMTP_PASSWORD": SMTP_PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout
    assert f"ok      lake: {lake} reachable, writable" in lines
    assert f"ok      smtp: localhost:{smtp.port} answers, TLS certificate and host name verified, logged in as" in lines
    assert f"ok      scheduler: {luigid.url}" in lines.replace("http://127.0.0.1", "http://127.0.0.1")
    assert f"ok      pushgateway: {pushgateway.url} answers" in lines
    assert (
        "ok      delivery: smtp: the report to readers@bottleneck.test, the alerts to readers@bottleneck.test" in lines
    )
    assert SMTP_PASSWORD not in result.stdout + result.stderr
    assert not list(lake.glob("locks/*/*/check-*.probe")), "the probe is removed"


def test_check_names_what_is_wrong_and_exits_non_zero(tmp_path, smtp_server):
    smtp = smtp_server.get("starttls")
    cfg = tmp_path / "luigi.cfg"
    # No CA bundle: the test server's certificate is not trusted; nothing listens where the scheduler should be.
    cfg.write_text(
        "[smtp]\n"
        + "".join(f"{k} = {v}\n" for k, v in smtp.smtp_options().items())
        + f"[core]\nscheduler_host = 127.0.0.1\nscheduler_port = {free_port()}\n"
        + f"[bottleneck]\npushgateway = http://127.0.0.1:{free_port()}\n"
    )
    unwritable = tmp_path / "a-file"
    unwritable.write_text("not a folder")
    result = admin_command(["check"], unwritable, tmp_path, {"LUIGI_CONFIG_PATH": str(cfg)})
    assert result.returncode == 9, result.stdout + result.stderr  # the first failed check's code: lake unusable
    assert f"FAILED  lake: {unwritable}/locks/" in result.stdout
    assert "NotADirectoryError" in result.stdout
    assert "FAILED  smtp:" in result.stdout
    assert "certificate" in result.stdout
    assert "FAILED  scheduler: central scheduler http://127.0.0.1:" in result.stdout
    assert "FAILED  pushgateway:" in result.stdout


def test_check_fails_a_stated_smtp_delivery_without_host_or_receivers_naming_each(lake, tmp_path):
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text("[bottleneck]\ndelivery = smtp\n")
    result = admin_command(["check"], lake, tmp_path, {"LUIGI_CONFIG_PATH": str(cfg)})
    assert result.returncode == 10, result.stdout + result.stderr
    assert "report receivers: (none); alert receivers: (none)" in result.stdout
    assert "FAILED  delivery: [bottleneck] delivery = smtp, but [smtp] host is empty (Helm chart: smtp.host)" in (
        result.stdout
    )
    assert "FAILED  smtp: no [smtp] host to connect to (Helm chart: smtp.host)" in result.stdout
    assert f"ok      locks: {lake}: a local folder, locks held with flock" in result.stdout


def test_check_says_a_lake_delivery_emails_nobody(lake, tmp_path):
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text("[bottleneck]\ndelivery = lake\n[smtp]\nhost = smtp.example.com\n[core]\nlocal_scheduler = true\n")
    result = admin_command(["check"], lake, tmp_path, {"LUIGI_CONFIG_PATH": str(cfg)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      delivery: lake: the report and the alerts are written to the lake as .eml files, nobody" in (
        result.stdout
    )
    assert "ok      smtp: not used ([bottleneck] delivery = lake)" in result.stdout
