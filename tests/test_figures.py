"""MonthFigures: a month's figures, profile and the sha256 of its exports, made from its raw exports alone."""

import datetime as dt
import hashlib
import json

from bottleneck import figures
from bottleneck.tasks import MonthFigures
from tests.months import REAL_PROFILE, copy_month

JULY = dt.date(2020, 7, 1)


def test_the_record_holds_the_figures_the_profile_and_each_exports_sha256(local_lake, seed_month):
    folder = copy_month(seed_month, local_lake, "2020-07")
    MonthFigures(month=JULY).run()
    record = json.loads((local_lake / "work/2020/07/figures.json").read_text())
    assert record["figures"]["products"] == 714
    assert record["profile"] == REAL_PROFILE
    assert record["sha256"] == {
        source: hashlib.sha256((folder / f"{source}.xlsx").read_bytes()).hexdigest()
        for source in ("erp", "web", "liaison")
    }
    assert record["made_from"]["figures_version"] == figures.FIGURES_VERSION


def test_a_month_that_cannot_be_processed_still_records_the_sha256_of_its_exports(local_lake, seed_month):
    folder = copy_month(seed_month, local_lake, "2020-07")
    (folder / "liaison.xlsx").unlink()
    MonthFigures(month=JULY).run()
    record = json.loads((local_lake / "work/2020/07/figures.json").read_text())
    assert record["figures"] is None
    assert "missing liaison.xlsx" in record["reason"]
    assert set(record["sha256"]) == {"erp", "web"}


def test_a_record_written_before_the_profile_existed_is_made_again_never_misread(local_lake, seed_month):
    copy_month(seed_month, local_lake, "2020-07")
    task = MonthFigures(month=JULY)
    task.run()
    file = local_lake / "work/2020/07/figures.json"
    old = json.loads(file.read_text())
    del old["profile"], old["sha256"], old["made_from"]["figures_version"]  # as the code before wrote it
    file.write_text(json.dumps(old))
    assert not task.complete()
    task.run()
    assert task.complete()
    assert json.loads(file.read_text())["profile"]["products"] == 714
