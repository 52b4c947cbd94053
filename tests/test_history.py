"""A month against its own history: its profile, the stale-upload check, on tiny records."""

import datetime as dt

import pytest

from bottleneck import history
from tests import frames
from tests.months import REAL_PROFILE


def stages(raw: int, kept: int, joined: int) -> list[dict]:
    return [
        {"stage": "raw", "rows": raw},
        {"stage": "duplicate row", "rows": kept},
        {"stage": "joined", "rows": joined},
    ]


FUNNEL = {
    "erp": stages(825, 823, 714),
    "web": stages(1513, 714, 714),
    "liaison": stages(825, 734, 714),
    "products": 714,
}


def test_join_losses_are_the_rows_kept_by_the_rules_that_the_join_left_out():
    assert history.join_losses(FUNNEL) == {"erp": (109, 823), "liaison": (20, 734)}


def test_the_profile_measures_rows_products_units_turnover_and_shares():
    wines = frames.wines()
    profile = history.month_profile(FUNNEL, wines)
    assert profile["erp_rows"] == 825
    assert profile["web_rows"] == 1513
    assert profile["products"] == 3
    assert profile["units"] == 9
    assert profile["turnover"] == round(3 * (24.2 + 34.3 + 300.0), 2)
    assert profile["premium_share"] == 1 / 3
    assert profile["liaison_join_loss"] == 20 / 734


def test_an_empty_month_has_no_share_rather_than_a_division_by_zero():
    empty = {
        source: [{"stage": "raw", "rows": 0}, {"stage": "joined", "rows": 0}] for source in ("erp", "web", "liaison")
    }
    profile = history.month_profile(empty, frames.wines(()))
    assert (profile["premium_share"], profile["erp_join_loss"], profile["products"]) == (0.0, 0.0, 0)


def manifest(**sha256):
    return {source: {"sha256": sha256.get(source, f"new-{source}")} for source in ("erp", "web", "liaison")}


def test_an_erp_or_web_export_that_is_a_file_of_a_month_before_is_held_naming_that_month():
    earlier = [
        {"month": "2020-06", "sha256": {"erp": "e06a", "web": "b06b", "liaison": "c06c"}},
        {"month": "2020-07", "figures": None, "sha256": {"erp": "e07d", "web": "b07e", "liaison": "c06c"}},
    ]
    now = manifest(erp="e06a", web="b08f", liaison="c06c")
    checks = {check.key: check for check in history.stale_uploads(now, earlier)}
    assert set(checks) == {"stale-erp", "stale-web"}  # liaison.xlsx, the same file, is no stale upload
    assert not checks["stale-erp"].passed
    assert checks["stale-erp"].level == "error"
    assert checks["stale-erp"].detail.startswith("erp.xlsx is byte for byte the erp.xlsx of 2020-06 (sha256 e06a)")
    assert checks["stale-web"].passed
    assert checks["stale-web"].kind == "plausibility"


def test_the_same_file_seen_in_two_months_is_named_by_the_later():
    earlier = [{"month": "2020-06", "sha256": {"web": "b06b"}}, {"month": "2020-07", "sha256": {"web": "b06b"}}]
    [_, web] = history.stale_uploads(manifest(web="b06b"), earlier)
    assert web.observed == "the web.xlsx of 2020-07"


def test_with_no_export_before_there_is_nothing_to_compare_and_no_check():
    assert history.stale_uploads(manifest(), [{"month": "2020-07", "figures": None, "reason": "no raw exports"}]) == []


# ---------------------------------------------------------------------------------------------------------------
# The months before, as MonthFigures records with a profile: the real month's unless told otherwise.

REAL = REAL_PROFILE
BOUNDS = history.Bounds()


def record(month: str, scale: float = 1.0, **profile) -> dict:
    """A month whose sales are `scale` times the real month's, with `profile`'s figures besides."""
    sales = {"units": round(REAL["units"] * scale), "turnover": round(REAL["turnover"] * scale, 2)}
    return {"month": month, "figures": {"month": month}, "profile": {**REAL, **sales, **profile}}


def gap(month: str, reason: str = "no raw exports in the lake") -> dict:
    return {"month": month, "figures": None, "reason": f"{month}: {reason}"}


def label(year: int, month: int) -> str:
    return f"{year}-{month:02d}"


def judged(month: str, profile: dict, records: list[dict], bounds=BOUNDS) -> dict:
    window = history.window(dt.date.fromisoformat(month + "-01"), records, bounds)
    return {check.key: check for check in history.history_checks(profile, window, bounds)}


PLAUSIBLE = [
    record("2020-01", 0.97, products=709, erp_rows=820, web_rows=1503, liaison_rows=820),
    record("2020-02", 1.02, products=711, erp_rows=822, web_rows=1507, liaison_rows=822),
    record("2020-03", 0.95, products=705, erp_rows=816, web_rows=1495, liaison_rows=816),
    record("2020-04", 1.04, products=708, erp_rows=819, web_rows=1501, liaison_rows=819),
    record("2020-05", 0.99, products=710, erp_rows=821, web_rows=1505, liaison_rows=821),
    record("2020-06", 1.01, products=706, erp_rows=817, web_rows=1497, liaison_rows=817),
]
CUT_WEB = {
    **REAL,
    "web_rows": 700,
    "products": 346,
    "units": 1264,
    "turnover": 26804.3,
    "premium_share": 16 / 346,
    "erp_join_loss": 477 / 823,
    "liaison_join_loss": 388 / 734,
}


def test_a_plausible_month_after_six_plausible_months_passes_every_history_check():
    checks = judged("2020-07", REAL, PLAUSIBLE)
    assert len(checks) == len(history.FIGURES)
    assert {key: check.record()["status"] for key, check in checks.items() if not check.passed} == {}
    assert checks["products"].detail == (
        "714 products, against 705 to 711 in the 6 months before (2020-01 to 2020-06): normal (within 531 to 1,417)"
    )


def test_a_cut_web_export_after_six_plausible_months_is_held_in_words():
    checks = judged("2020-07", CUT_WEB, PLAUSIBLE)
    held = {key for key, check in checks.items() if check.record()["status"] == "failed"}
    assert held == {"web-rows", "products", "units", "turnover", "erp-join-loss", "liaison-join-loss"}
    assert checks["products"].detail == (
        "346 products, against 705 to 711 in the 6 months before (2020-01 to 2020-06): held, below 390 "
        "(their median is 708)"
    )
    assert checks["products"].expected == "531 to 1,417; held outside 390 to 2,834"
    assert checks["turnover"].observed == "26,804.30 €"
    assert checks["products"].kind == "plausibility"
    assert checks["products"].context["values"] == [709, 711, 705, 708, 710, 706]


def test_with_one_month_before_the_band_is_the_percentages_around_it():
    checks = judged("2020-08", CUT_WEB, [record("2020-07")])
    assert checks["products"].detail == (
        "346 products, against 714 in 2020-07, the only month before with figures: held, below 393"
    )
    assert checks["products"].context["error"] == pytest.approx([714 * 0.55, 714 * 4])


def test_with_no_month_before_there_is_no_history_check_and_the_report_says_so():
    window = history.window(dt.date(2020, 8, 1), [gap("2020-06"), gap("2020-07")], BOUNDS)
    assert history.history_checks(REAL, window, BOUNDS) == []
    assert history.compared_with("2020-08", window, [])["summary"] == (
        "History checks had nothing to compare with: no month of the 12 before 2020-08 has figures."
    )


def test_a_gap_is_skipped_and_named_never_taken_as_zero():
    records = [*PLAUSIBLE[:5], gap("2020-06"), gap("2020-07", "quality gate failed: product_id unique")]
    window = history.window(dt.date(2020, 8, 1), records, BOUNDS)
    assert [month for month, _ in window.compared] == ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05"]
    assert window.skipped == [
        ("2020-06", "no raw exports in the lake"),
        ("2020-07", "quality gate failed: product_id unique"),
    ]
    checks = history.history_checks(REAL, window, BOUNDS)
    assert all(check.passed for check in checks)
    summary = history.compared_with("2020-08", window, checks)["summary"]
    assert summary.startswith(
        "Judged against the 5 months before (2020-01 to 2020-05), without 2020-06 (no raw exports in the lake); "
        "2020-07 (quality gate failed: product_id unique): 714 products against 705 to 711, a turnover of "
    )
    assert summary.endswith("; every figure within its band.")


def test_a_month_that_lost_its_own_rows_in_the_join_is_no_reference():
    cut = {"month": "2020-07", "figures": {"month": "2020-07"}, "profile": CUT_WEB}
    window = history.window(dt.date(2020, 8, 1), [*PLAUSIBLE, cut], BOUNDS)
    assert window.skipped == [("2020-07", "58.0 % of its rows lost in the join, beyond the bound of a normal month")]
    assert [month for month, _ in window.compared] == [record["month"] for record in PLAUSIBLE]


def test_figures_made_before_the_profile_are_no_reference():
    old = {"month": "2020-07", "figures": {"month": "2020-07"}}
    window = history.window(dt.date(2020, 8, 1), [*PLAUSIBLE, old], BOUNDS)
    assert window.skipped == [("2020-07", "its figures were made before the history checks")]


def test_only_the_last_months_with_figures_are_compared():
    window = history.window(dt.date(2020, 7, 1), PLAUSIBLE, history.Bounds(months=3))
    assert [month for month, _ in window.compared] == ["2020-04", "2020-05", "2020-06"]


def test_one_odd_month_among_six_does_not_move_the_band():
    cents = record("2020-06", 100.0)  # every price exported in cents
    checks = judged("2020-07", REAL, [*PLAUSIBLE[:5], cents])
    assert checks["turnover"].passed, checks["turnover"].detail


def test_a_figure_that_moves_a_lot_widens_its_own_band():
    volatile = [record(label(2020, month), scale) for month, scale in enumerate((0.6, 1.3, 0.7, 1.4, 0.65, 1.35), 1)]
    checks = judged("2020-07", REAL | {"units": round(REAL["units"] * 0.5)}, volatile)
    assert checks["units"].passed  # half the median, as the months before swing
    steady = judged("2020-07", REAL | {"units": round(REAL["units"] * 0.5)}, PLAUSIBLE)
    assert steady["units"].record()["status"] == "failed"


def test_a_rise_is_allowed_more_than_a_fall():
    assert judged("2020-07", REAL | {"units": REAL["units"] * 2.5}, PLAUSIBLE)["units"].record()["status"] == "warning"
    assert judged("2020-07", REAL | {"units": REAL["units"] * 0.5}, PLAUSIBLE)["units"].record()["status"] == "failed"
    assert judged("2020-07", REAL | {"units": REAL["units"] * 4.5}, PLAUSIBLE)["units"].record()["status"] == "failed"


def test_shares_are_judged_in_points_and_join_losses_on_rises_only():
    checks = judged("2020-07", REAL | {"premium_share": 0.0, "liaison_join_loss": 0.0}, PLAUSIBLE)
    assert checks["premium-share"].record()["status"] == "warning"
    assert checks["premium-share"].detail.startswith("premium wines: 0.0 % of the products, against 4.2 % to 4.2 %")
    assert checks["liaison-join-loss"].passed
    assert judged("2020-07", REAL | {"liaison_join_loss": 0.15}, PLAUSIBLE)["liaison-join-loss"].status == "failed"


SEASON = {1: 0.8, 2: 0.85, 3: 0.95, 4: 1.0, 5: 1.0, 6: 0.95, 7: 0.9, 8: 0.7, 9: 1.0, 10: 1.15, 11: 1.7, 12: 2.6}


def test_a_year_with_a_december_peak_holds_no_month_and_the_second_december_passes_without_a_warning():
    months = [record(label(year, month), SEASON[month]) for year in (2021, 2022) for month in range(1, 13)]
    statuses = {}
    for index, month in enumerate(months):
        checks = judged(month["month"], month["profile"], months[max(0, index - 12) : index])
        statuses[month["month"]] = {key: check.record()["status"] for key, check in checks.items()}
    assert all(status != "failed" for checks in statuses.values() for status in checks.values())
    assert statuses["2021-12"]["turnover"] == "warning"  # the first December, with no December before it
    assert {status for month, checks in statuses.items() if month >= "2022" for status in checks.values()} == {"passed"}
    december = judged("2022-12", months[-1]["profile"], months[-13:-1])["turnover"]
    assert december.context["same_month_last_year"] == {"month": "2021-12", "value": months[11]["profile"]["turnover"]}
    assert "and 183,478.36 € in 2021-12, the same month a year before: normal" in december.detail


def test_a_fault_in_the_same_month_a_year_before_never_widens_the_band():
    last_year = record("2019-07", 100.0)  # prices in cents a year ago
    checks = judged("2020-07", REAL | {"turnover": REAL["turnover"] * 100}, [last_year, *PLAUSIBLE])
    assert checks["turnover"].record()["status"] == "failed"
    assert checks["turnover"].context["same_month_last_year"] is None


def test_history_months_must_be_within_the_months_read():
    from bottleneck.errors import PipelineError

    class Settings:
        history_fall_warning = history_fall_error = history_rise_warning = history_rise_error = 1.0
        history_mads_warning = history_mads_error = history_points_warning = history_points_error = 1.0
        join_loss_warning = join_loss_error = 1.0

    for months in (0, 13):
        settings = Settings()
        settings.history_months = months
        with pytest.raises(PipelineError, match=f"history_months = {months}: rule 'from 1 to 12"):
            history.Bounds.of(settings)
