"""Month arithmetic: the months before one, and every month between two."""

import datetime as dt

# The earliest month the pipeline reports: ReportMonth refuses earlier ones, and backfills start here at most.
EARLIEST_MONTH = dt.date(2000, 1, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_before(month: dt.date, count: int, earliest: dt.date = EARLIEST_MONTH) -> list[dt.date]:
    """The `count` months before `month`, oldest first, none before `earliest`."""
    months: list[dt.date] = []
    year, index = month.year, month.month
    for _ in range(count):
        year, index = (year - 1, 12) if index == 1 else (year, index - 1)
        if dt.date(year, index, 1) < earliest:
            break
        months.insert(0, dt.date(year, index, 1))
    return months


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from `first` to `last`, both included."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months
