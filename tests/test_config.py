"""Configuration read when a run starts: the default month, and RangeMonthly's reach back to 2000-01."""

import datetime as dt

from luigi.tools.range import RangeMonthly

from bottleneck import config
from bottleneck.tasks import MonthEmail, RunMonth


def test_the_default_month_is_read_when_a_task_is_made_not_at_import(monkeypatch, local_lake):
    monkeypatch.setattr(config, "current_month", lambda: dt.date(2021, 3, 1))
    assert RunMonth().month == MonthEmail().month == dt.date(2021, 3, 1)
    monkeypatch.setattr(config, "current_month", lambda: dt.date(2021, 4, 1))
    assert RunMonth().month == dt.date(2021, 4, 1), "a process started in March still runs March in April"


def test_range_monthly_reaches_2000_01_whenever_it_runs(local_lake):
    for year in (2026, 2125):
        now = int(dt.datetime(year, 6, 1, tzinfo=dt.UTC).timestamp())
        backfill = RangeMonthly(of=RunMonth, start=dt.date(2000, 1, 1), stop=dt.date(2000, 4, 1), now=now)
        assert [task.month for task in backfill.requires()] == [dt.date(2000, month, 1) for month in (1, 2, 3)]


def test_result_settings_are_those_that_change_a_months_outputs(luigi_options):
    luigi_options("bottleneck", "premium_zscore", "2.5")
    assert config.result_settings() == {"premium_zscore": 2.5}


def test_a_backfill_starting_before_2000_01_is_refused_naming_the_month(tmp_path):
    from tests.months import run

    result = run(
        ["RangeMonthly", "--of", "RunMonth", "--start", "1999-11", "--stop", "2000-02", "--local-scheduler"],
        tmp_path / "lake",
        tmp_path,
    )
    assert result.returncode == 5, result.stderr[-2000:]  # Luigi's scheduling error: nothing ran
    assert "month 1999-11 is outside 2000-01.." in result.stderr
    assert not (tmp_path / "lake").exists()


def test_settings_follow_luigi_cfg_its_environment_variables_and_the_command_line(luigi_options, monkeypatch):
    import luigi.cmdline_parser

    luigi_options("bottleneck", "premium_zscore", "2.5")
    assert config.settings().premium_zscore == 2.5
    luigi_options("bottleneck", "premium_zscore", "3")
    assert config.settings().premium_zscore == 3.0
    monkeypatch.setenv("ZSCORE_OF_TEST", "1.5")
    luigi_options("bottleneck", "premium_zscore", "${ZSCORE_OF_TEST}")
    assert config.settings().premium_zscore == 1.5
    monkeypatch.setenv("ZSCORE_OF_TEST", "1.75")
    assert config.settings().premium_zscore == 1.75
    with luigi.cmdline_parser.CmdlineParser.global_instance(["RunMonth", "--bottleneck-premium-zscore", "4"]):
        assert config.settings().premium_zscore == 4.0
    with luigi.cmdline_parser.CmdlineParser.global_instance(["RunMonth", "--bottleneck-premium-zscore", "5"]):
        assert config.settings().premium_zscore == 5.0
    assert config.settings().premium_zscore == 1.75


def test_luigi_cfg_example_lists_every_option_of_the_bottleneck_section_with_its_default():
    import configparser
    from pathlib import Path

    example = configparser.ConfigParser(interpolation=None)
    example.read(Path(__file__).resolve().parents[1] / "luigi.cfg.example")
    defaults = config.bottleneck()  # no luigi.cfg in the tests: every option at its default
    options = dict(config.bottleneck.get_params())
    assert set(example["bottleneck"]) == set(options)
    for name, parameter in options.items():
        assert parameter.parse(example["bottleneck"][name]) == getattr(defaults, name), name
