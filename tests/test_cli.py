"""bottleneck-run: Luigi's command line, a refused month, and typed exit codes."""

from tests.months import run


def test_a_month_outside_the_sane_range_is_refused(tmp_path):
    for month in ("1999-12", "2999-01"):
        result = run(["RunMonth", "--month", month, "--local-scheduler"], tmp_path / "lake", tmp_path)
        assert result.returncode != 0
        assert f"month {month} is outside 2000-01.." in result.stderr
    assert not (tmp_path / "lake").exists()


def test_a_lake_url_with_a_parent_segment_is_refused_with_exit_9(tmp_path):
    result = run(["RunMonth", "--month", "2020-08", "--local-scheduler"], "s3://wine-lake/../other", tmp_path)
    assert result.returncode == 9, result.stderr
    assert "lake 's3://wine-lake/../other' is refused" in result.stderr


def test_the_scheduler_a_command_would_use_follows_its_flags_over_luigi_cfg(luigi_options):
    from bottleneck.cli import central_scheduler

    assert central_scheduler(["RunMonth"]) == ("http://localhost:8082/", True)
    assert central_scheduler(["RunMonth", "--local-scheduler"]) == (None, True)
    assert central_scheduler(["RunMonth", "--local-scheduler", "false"])[0] == "http://localhost:8082/"
    luigi_options("core", "scheduler_host", "luigid")
    luigi_options("bottleneck", "scheduler_fallback", "false")
    assert central_scheduler(["RunMonth", "--month", "2020-08"]) == ("http://luigid:8082/", False)
    assert central_scheduler(["RunMonth", "--scheduler-host", "other", "--scheduler-port=9000"])[0] == (
        "http://other:9000/"
    )
    assert central_scheduler(["RunMonth", "--bottleneck-scheduler-fallback", "true"])[1] is True
    luigi_options("core", "scheduler_url", "https://luigid.example/")
    assert central_scheduler(["RunMonth", "--scheduler-host", "other"])[0] == "https://luigid.example/"
    assert central_scheduler(["RunMonth", "--help"]) == (None, False)
