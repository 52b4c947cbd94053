"""`bottleneck-run` with the central scheduler down: the report does not wait for the visualiser."""

from tests.conftest import free_port
from tests.scheduler import runs

MONTH = "2020-04"


def config_pointing_nowhere(tmp_path, extra: str = ""):
    config = tmp_path / "luigi.cfg"
    # A port nothing listens on: connection refused at once, as when luigid is down.
    config.write_text(
        f"[core]\nscheduler_host = 127.0.0.1\nscheduler_port = {free_port()}\n"
        "rpc_retry_attempts = 1\nrpc_retry_wait = 1\n" + extra
    )
    return config


def test_unreachable_scheduler_warns_and_completes_the_month_locally(local_lake, tmp_path):
    runs.write_months(MONTH)
    config = config_pointing_nowhere(tmp_path)

    done = runs.run(["RunMonth", "--month", MONTH], runs.environment(str(local_lake), config), tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING: bottleneck-run: the central scheduler at http://127.0.0.1:" in done.stderr
    assert "running with the local scheduler instead" in done.stderr
    assert runs.report_exists(MONTH)


def test_fallback_keeps_the_exit_code_of_a_failure(local_lake, tmp_path):
    config = config_pointing_nowhere(tmp_path)  # and no raw exports for the month

    done = runs.run(["RunMonth", "--month", MONTH], runs.environment(str(local_lake), config), tmp_path)

    assert "running with the local scheduler instead" in done.stderr
    assert done.returncode == 3, done.stderr[-3000:]  # missing source


def test_fallback_can_be_turned_off(local_lake, tmp_path):
    runs.write_months(MONTH)
    config = config_pointing_nowhere(tmp_path, "[bottleneck]\nscheduler_fallback = false\n")

    done = runs.run(["RunMonth", "--month", MONTH], runs.environment(str(local_lake), config), tmp_path)

    assert "running with the local scheduler instead" not in done.stderr
    assert done.returncode == 4, done.stderr[-3000:]  # Luigi's own: its scheduler RPC failed
    assert not runs.report_exists(MONTH)


def test_local_scheduler_flag_needs_no_scheduler(local_lake, tmp_path):
    runs.write_months(MONTH)
    config = config_pointing_nowhere(tmp_path)

    done = runs.run(
        ["RunMonth", "--month", MONTH, "--local-scheduler"], runs.environment(str(local_lake), config), tmp_path
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "cannot be reached" not in done.stderr
