"""A month's identity: its raw exports and result settings, checked cheaply before every task, never mixed."""

import datetime as dt
from pathlib import Path

import luigi.task
import pytest

from bottleneck import lake as lake_module
from bottleneck.errors import InvalidInputError
from bottleneck.tasks import MonthInputs, RunMonth
from tests.months import copy_month, files_under, run_month


@pytest.fixture
def lake(tmp_path):
    return tmp_path / "lake"


def test_complete_reads_no_raw_export_and_the_check_hashes_only_a_rewritten_one(
    seed_month, lake, tmp_path, monkeypatch
):
    folder = copy_month(seed_month, lake)
    assert run_month(lake, tmp_path).returncode == 0
    monkeypatch.setenv("BOTTLENECK_LAKE", str(lake))
    hashed = []
    real_sha256 = lake_module.sha256

    def refuse_raw(file):
        raise AssertionError(f"complete() read {file.path}")

    monkeypatch.setattr(
        lake_module,
        "read_bytes",
        lambda file: refuse_raw(file) if "/raw/" in file.path else Path(file.path).read_bytes(),
    )
    monkeypatch.setattr(lake_module, "sha256", lambda file: hashed.append(file.path) or real_sha256(file))
    month = dt.date(2020, 8, 1)
    tasks = luigi.task.flatten([RunMonth(month=month), *list(RunMonth(month=month).deps())])
    assert all(task.complete() for task in tasks)
    assert not hashed

    (folder / "web.xlsx").write_bytes((seed_month / "web.xlsx").read_bytes())  # the same bytes, written again
    check = MonthInputs(month=month)
    assert not check.complete()
    assert not RunMonth(month=month).complete()
    assert not hashed
    check.run()  # the same content: passes, having hashed that one file
    assert hashed == [str(folder / "web.xlsx")]

    (folder / "web.xlsx").write_bytes((seed_month / "erp.xlsx").read_bytes())
    with pytest.raises(InvalidInputError, match=r"raw export replaced after the month was processed: .*web.xlsx is "):
        check.run()


def cfg(tmp_path, premium_zscore: str):
    path = tmp_path / f"zscore-{premium_zscore}.cfg"
    path.write_text(f"[bottleneck]\npremium_zscore = {premium_zscore}\n")
    return {"LUIGI_CONFIG_PATH": str(path)}


def test_a_month_started_with_one_premium_threshold_is_never_finished_with_another(seed_month, lake, tmp_path):
    copy_month(seed_month, lake)
    started = run_month(lake, tmp_path, env=cfg(tmp_path, "2.0"), task="ReconciledProducts")
    assert started.returncode == 0, started.stderr[-3000:]

    refused = run_month(lake, tmp_path, env=cfg(tmp_path, "2.5"))
    assert refused.returncode == 6, refused.stderr[-3000:]
    assert (
        "[bottleneck] premium_zscore is 2.5, but the month was started with 2.0 (recorded in "
        f"{lake}/work/2020/08/raw_manifest.json)"
    ) in refused.stderr
    assert "Set premium_zscore = 2.0 again to finish the month, or re-process it" in refused.stderr
    assert not (lake / "work/2020/08/classified_wines.parquet").exists()
    assert not (lake / "reports").exists()

    finished = run_month(lake, tmp_path, env=cfg(tmp_path, "2.0"))
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert '"premium": 30' in (lake / "reports/2020/08/quality.json").read_text()
    written = files_under(lake / "reports")
    # A month done is refused too rather than said done under a threshold it was not made with.
    again = run_month(lake, tmp_path, env=cfg(tmp_path, "2.5"))
    assert again.returncode == 6, again.stderr[-3000:]
    assert (
        f"premium_zscore is 2.5, but the month was started with 2.0 (recorded in {lake}/work/2020/08/"
        f"raw_manifest.json, {lake}/reports/2020/08/quality.json)"
    ) in again.stderr
    assert files_under(lake / "reports") == written
