"""Month arithmetic: the months before one, and the months between two."""

import datetime as dt

from bottleneck.months import months_before, months_between, next_month


def test_months_before_stop_at_the_earliest_month():
    assert months_before(dt.date(2020, 2, 1), 3, dt.date(2000, 1, 1)) == [
        dt.date(2019, 11, 1),
        dt.date(2019, 12, 1),
        dt.date(2020, 1, 1),
    ]
    assert months_before(dt.date(2000, 2, 1), 11, dt.date(2000, 1, 1)) == [dt.date(2000, 1, 1)]
    assert months_before(dt.date(2000, 1, 1), 11, dt.date(2000, 1, 1)) == []


def test_months_between_include_both_ends_and_cross_years():
    assert months_between(dt.date(2019, 11, 1), dt.date(2020, 2, 1)) == [
        dt.date(2019, 11, 1),
        dt.date(2019, 12, 1),
        dt.date(2020, 1, 1),
        dt.date(2020, 2, 1),
    ]
    assert months_between(dt.date(2020, 2, 1), dt.date(2020, 1, 1)) == []
    assert next_month(dt.date(2020, 12, 1)) == dt.date(2021, 1, 1)
