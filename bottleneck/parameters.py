"""The month parameter of every task: YYYY-MM, between 2000-01 and next year, refused otherwise at parse time."""

import datetime as dt

import luigi

from bottleneck import config
from bottleneck.months import EARLIEST_MONTH

CURRENT_MONTH = "current"  # the default of --month: read when a task is made (a run starts), not at import


class ReportMonth(luigi.MonthParameter):
    """A YYYY-MM month between 2000-01 and next year; `current` is the current month in [bottleneck] timezone."""

    def normalize(self, value: object) -> dt.date | None:
        if value == CURRENT_MONTH:
            value = config.current_month()
        month = super().normalize(value)
        if month is not None:
            latest = dt.date(dt.date.today().year + 1, 12, 1)
            if not EARLIEST_MONTH <= month <= latest:
                raise ValueError(f"month {month:%Y-%m} is outside {EARLIEST_MONTH:%Y-%m}..{latest:%Y-%m}")
        return month


def parsed_month(text: str) -> dt.date:
    """A month given on a command line, as ReportMonth parses it; ValueError names what is wrong."""
    try:
        month = ReportMonth().normalize(luigi.MonthParameter().parse(text))
    except ValueError as error:
        raise ValueError(
            f"{text!r}: {error}" if "outside" in str(error) else f"{text!r} is not a month YYYY-MM"
        ) from None
    assert month is not None  # parse() gives a month or raises
    return month
