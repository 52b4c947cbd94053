"""A month against its own history: its profile, the stale-upload check, on tiny records."""

from bottleneck import history
from tests import frames


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
