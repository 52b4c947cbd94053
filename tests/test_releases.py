"""An operator's release of a held check, applied by the month's next run only to what it released."""

from bottleneck import quality, releases

EXPORTS = {"erp": "e1", "web": "w1", "liaison": "l1"}


def held(key="products", observed="346", kind=quality.PLAUSIBILITY, level=quality.ERROR):
    return quality.Check(
        f"{key} against the months before", level, False, observed, "531 to 1,417", "346 products", key=key, kind=kind
    )


def release(key="products", observed="346", exports=EXPORTS, at="2020-09-03T08:00:00+00:00", reason="a sale"):
    return {"check": key, "observed": observed, "raw_sha256": exports, "by": "ops@host", "at": at, "reason": reason}


def test_a_release_of_the_value_observed_on_the_same_exports_accepts_the_check():
    [check] = releases.released([held()], [release()], EXPORTS)
    assert check.status == "accepted"
    assert check.accepted == {"by": "ops@host", "at": "2020-09-03T08:00:00+00:00", "reason": "a sale"}
    assert quality.failures([check]) == []
    assert check.record()["status"] == "accepted"


def test_a_release_for_another_value_or_other_exports_is_not_applied_and_says_so():
    [other_value] = releases.released([held(observed="350")], [release()], EXPORTS)
    assert other_value.status == "failed"
    assert other_value.detail.endswith("(released on 2020-09-03T08:00:00+00:00 for 346, not 350: not applied)")
    [other_exports] = releases.released([held()], [release(exports={**EXPORTS, "web": "w2"})], EXPORTS)
    assert other_exports.status == "failed"
    assert other_exports.detail.endswith("for other raw exports: not applied)")


def test_the_latest_release_of_a_check_is_the_one_that_counts():
    old, new = release(at="2020-09-01T08:00:00+00:00", reason="first"), release(reason="second")
    [check] = releases.released([held()], [old, new], EXPORTS)
    assert check.accepted["reason"] == "second"


def test_a_consistency_check_is_never_released_and_a_passed_check_never_touched():
    consistency = held(key="rows-accounted-for", kind=quality.CONSISTENCY)
    passed = quality.Check("turnover", quality.ERROR, True, "1", "1", key="turnover", kind=quality.PLAUSIBILITY)
    checks = releases.released(
        [consistency, passed], [release("rows-accounted-for"), release("turnover", "1")], EXPORTS
    )
    assert [check.status for check in checks] == ["failed", "passed"]
    assert [check.accepted for check in checks] == [None, None]


def test_a_warning_released_reads_as_accepted_too():
    [check] = releases.released([held(level=quality.WARNING)], [release()], EXPORTS)
    assert check.status == "accepted"
