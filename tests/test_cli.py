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
