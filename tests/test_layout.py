"""The layout: one root, every dataset of a month under it, and lake URLs that could escape refused."""

import datetime as dt

import pytest

from bottleneck import layout
from bottleneck.errors import LakeError

AUGUST = dt.date(2020, 8, 1)


def test_every_dataset_of_a_month_lives_under_its_month(monkeypatch):
    monkeypatch.setenv("BOTTLENECK_LAKE", "s3://wine-lake/bottleneck")
    assert layout.location(AUGUST, "raw_web") == "s3://wine-lake/bottleneck/raw/2020/08/web.xlsx"
    assert layout.location(AUGUST, "report_xlsx") == "s3://wine-lake/bottleneck/reports/2020/08/report.xlsx"
    for dataset in layout.LAYOUT:
        where = layout.location(AUGUST, dataset, name="email", stamp="20200901T0900", owner="host-1", token="t")
        assert "/2020/08/" in where or "/superseded/2020-08/20200901T0900/" in where, where


@pytest.mark.parametrize(
    "url", ["s3://wine-lake/../other-bucket", "../outside", "lake/../../etc", "s3://", "gs://wine-lake", ""]
)
def test_lake_urls_that_could_escape_are_refused(monkeypatch, url):
    monkeypatch.setenv("BOTTLENECK_LAKE", url)
    if not url:
        monkeypatch.setattr("bottleneck.config.settings", lambda: type("S", (), {"lake": ""})())
    with pytest.raises(LakeError, match="is refused: rule"):
        layout.lake_url()
