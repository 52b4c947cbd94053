"""A month against its own history: what each month measures (its profile), the band a normal month stays in,
and the checks that judge a month by the months before it, each in a sentence.

The months before are their MonthFigures records, made from their raw exports alone: never the month's
own run. A figure's band is centred on the median of the last months that have figures (an odd month
among them does not move it) and is as wide as a percentage of it or, with at least three months, as
a number of scaled median absolute deviations (a figure that moves a lot widens its own band),
whichever is wider. It is wider for a rise than for a fall (December sells two or three times a
summer month) and stretched to the same month a year before, where the lake has it and that month is
itself within the band (a past fault never widens it).
"""

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bottleneck import config, wording
from bottleneck.classify import PREMIUM
from bottleneck.compare import turnover
from bottleneck.errors import PipelineError
from bottleneck.quality import ERROR, PLAUSIBILITY, WARNING, Check

LOOKED_BACK = 12  # the months before whose figures a month reads
MAD_SCALE = 1.4826  # a median absolute deviation times this estimates the standard deviation of normal noise
MIN_MONTHS_FOR_MADS = 3  # with fewer months, a band is the percentages alone
STALE_SOURCES = ("erp", "web")  # exports that change every month (stock and prices, sales); not liaison.xlsx


@dataclass(frozen=True)
class Figure:
    """One figure of a month's profile, how readers name it and how it moves."""

    key: str
    name: str  # in a check's name: "products against the months before"
    phrase: str  # the figure with its value: "{} products"
    kind: str  # "count", "money" or "share" (a fraction, judged in percentage points)
    rises_only: bool = False  # a fall is no fault: fewer rows lost in the join

    @property
    def check_key(self) -> str:
        return self.key.replace("_", "-")

    def shown(self, value: float) -> str:
        if self.kind == "money":
            return wording.money(value)
        if self.kind == "share":
            return f"{100 * value:.1f} %"
        return f"{round(value):,}"


FIGURES = (
    Figure("erp_rows", "rows in erp.xlsx", "{} rows in erp.xlsx", "count"),
    Figure("web_rows", "rows in web.xlsx", "{} rows in web.xlsx", "count"),
    Figure("liaison_rows", "rows in liaison.xlsx", "{} rows in liaison.xlsx", "count"),
    Figure("products", "products", "{} products", "count"),
    Figure("units", "units sold", "{} units sold", "count"),
    Figure("turnover", "turnover", "a turnover of {}", "money"),
    Figure("premium_share", "premium share", "premium wines: {} of the products", "share"),
    Figure(
        "erp_join_loss",
        "erp.xlsx rows lost in the join",
        "{} of the clean erp.xlsx rows lost in the join",
        "share",
        rises_only=True,
    ),
    Figure(
        "liaison_join_loss",
        "liaison.xlsx rows lost in the join",
        "{} of the linked liaison.xlsx rows lost in the join",
        "share",
        rises_only=True,
    ),
)


@dataclass(frozen=True)
class Bounds:
    """What a normal month looks like: the [bottleneck] settings of the plausibility checks, each pair a warning
    bound and the bound that holds the month."""

    months: int = 6  # the months before compared, at most LOOKED_BACK
    fall: tuple[float, float] = (25.0, 45.0)  # % below the median (counts, units, turnover)
    rise: tuple[float, float] = (100.0, 300.0)  # % above the median
    mads: tuple[float, float] = (4.0, 6.0)  # scaled median absolute deviations, with MIN_MONTHS_FOR_MADS months
    points: tuple[float, float] = (3.0, 10.0)  # percentage points from the median (shares)
    join_loss: tuple[float, float] = (25.0, 40.0)  # % of a source's rows lost in the join, the month alone

    @classmethod
    def of(cls, settings: config.bottleneck) -> "Bounds":
        if not 1 <= settings.history_months <= LOOKED_BACK:
            raise PipelineError(
                f"[bottleneck] history_months = {settings.history_months}: rule 'from 1 to {LOOKED_BACK}, the months "
                "before whose figures a month reads'"
            )
        return cls(
            months=settings.history_months,
            fall=(settings.history_fall_warning, settings.history_fall_error),
            rise=(settings.history_rise_warning, settings.history_rise_error),
            mads=(settings.history_mads_warning, settings.history_mads_error),
            points=(settings.history_points_warning, settings.history_points_error),
            join_loss=(settings.join_loss_warning, settings.join_loss_error),
        )


def join_losses(funnel: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(rows lost in the join, clean rows) of erp and liaison: the rows each kept that the inner join left out."""
    return {
        source: (funnel[source][-2]["rows"] - funnel[source][-1]["rows"], funnel[source][-2]["rows"])
        for source in ("erp", "liaison")
    }


def month_profile(funnel: dict[str, Any], wines: pd.DataFrame) -> dict[str, float]:
    """What a month measures, for the months after it to judge themselves by: rows of each export, products,
    units, turnover, premium share and the shares of rows lost in the join."""
    products = len(wines)
    losses = join_losses(funnel)
    return {
        "erp_rows": funnel["erp"][0]["rows"],
        "web_rows": funnel["web"][0]["rows"],
        "liaison_rows": funnel["liaison"][0]["rows"],
        "products": products,
        "units": int(wines["total_sales"].sum()),
        "turnover": float(turnover(wines)),
        "premium_share": int((wines["category"] == PREMIUM).sum()) / products if products else 0.0,
        **{f"{source}_join_loss": lost / clean if clean else 0.0 for source, (lost, clean) in losses.items()},
    }


@dataclass
class Window:
    """The months a month is judged against: those compared (oldest first), those skipped on the way and why,
    and the same month a year before, where it can serve."""

    compared: list[tuple[str, dict[str, float]]]
    skipped: list[tuple[str, str]]
    last_year: tuple[str, dict[str, float]] | None


def _no_reference(record: dict[str, Any], bounds: Bounds) -> str:
    """Why a month's figures cannot be a reference for the months after it ('' when they can)."""
    label = record["month"]
    if not record.get("figures"):
        reason = str(record.get("reason") or "no figures")
        return reason.removeprefix(f"{label}: ").removeprefix(f"{label} ")
    profile = record.get("profile")
    if not profile:
        return "its figures were made before the history checks"
    lost = max(profile["erp_join_loss"], profile["liaison_join_loss"])
    if 100 * lost > bounds.join_loss[1]:
        return f"{100 * lost:.1f} % of its rows lost in the join, beyond the bound of a normal month"
    return ""


def window(month: dt.date, records: list[dict[str, Any]], bounds: Bounds) -> Window:
    """The last `bounds.months` of the months before (their MonthFigures records, oldest first) that can serve as
    a reference, the months skipped since the first of them and why (a gap is never taken as zero), and the
    same month a year before where it can serve."""
    reasons = {record["month"]: _no_reference(record, bounds) for record in records}
    usable = [record for record in records if not reasons[record["month"]]]
    compared = usable[-bounds.months :]
    first = compared[0]["month"] if compared else "9999-99"
    year_before = f"{month.replace(year=month.year - 1):%Y-%m}"
    return Window(
        [(record["month"], record["profile"]) for record in compared],
        [(label, reason) for label, reason in reasons.items() if reason and label > first],
        next(((record["month"], record["profile"]) for record in usable if record["month"] == year_before), None),
    )


@dataclass(frozen=True)
class Band:
    """Where a normal month's figure lies: within `warning`; outside `error` the month is held."""

    median: float
    warning: tuple[float, float]
    error: tuple[float, float]
    seasonal: bool  # stretched to the same month a year before


def _around(figure: Figure, centre: float, spread: float, bounds: Bounds, level: int) -> tuple[float, float]:
    """The bounds of one level (0 warning, 1 error) around a centre, widened to `spread` scaled MADs."""
    if figure.kind == "share":
        width = max(bounds.points[level] / 100, bounds.mads[level] * spread)
        low, high = centre - width, centre + width
    else:
        low = centre - max(bounds.fall[level] / 100 * centre, bounds.mads[level] * spread)
        high = centre + max(bounds.rise[level] / 100 * centre, bounds.mads[level] * spread)
    return (0.0 if figure.rises_only else max(low, 0.0)), high


def band(figure: Figure, values: list[float], last_year: float | None, bounds: Bounds) -> Band:
    """The band of a figure from its values in the months compared (oldest first) and, where it lies within the
    error band of those, its value in the same month a year before."""
    median = statistics.median(values)
    deviations = [abs(value - median) for value in values]
    spread = MAD_SCALE * statistics.median(deviations) if len(values) >= MIN_MONTHS_FOR_MADS else 0.0
    warning, error = (_around(figure, median, spread, bounds, level) for level in (0, 1))
    if last_year is None or not error[0] <= last_year <= error[1]:
        return Band(median, warning, error, seasonal=False)
    seasonal = [_around(figure, last_year, 0.0, bounds, level) for level in (0, 1)]
    return Band(
        median,
        (min(warning[0], seasonal[0][0]), max(warning[1], seasonal[0][1])),
        (min(error[0], seasonal[1][0]), max(error[1], seasonal[1][1])),
        seasonal=True,
    )


def _compared_with(figure: Figure, window: Window, last_year: tuple[str, float] | None) -> str:
    months = [month for month, _ in window.compared]
    values = [profile[figure.key] for _, profile in window.compared]
    if len(months) == 1:
        words = f"against {figure.shown(values[0])} in {months[0]}, the only month before with figures"
    else:
        span = f"{figure.shown(min(values))} to {figure.shown(max(values))}"
        words = f"against {span} in the {len(months)} months before ({months[0]} to {months[-1]})"
    if last_year is not None:
        words += f", and {figure.shown(last_year[1])} in {last_year[0]}, the same month a year before"
    return words


def _verdict(figure: Figure, value: float, limits: Band, months: int) -> tuple[str, bool, str]:
    """The level a figure reached, whether it passed, and the verdict in words."""
    (warning_low, warning_high), (error_low, error_high) = limits.warning, limits.error
    median = f" (their median is {figure.shown(limits.median)})" if months > 1 else ""
    if not error_low <= value <= error_high:
        side, bound = ("below", error_low) if value < error_low else ("above", error_high)
        return ERROR, False, f"held, {side} {figure.shown(bound)}{median}"
    if not warning_low <= value <= warning_high:
        low = value < warning_low
        side, bound, held = ("below", warning_low, error_low) if low else ("above", warning_high, error_high)
        return WARNING, False, f"unusual, {side} {figure.shown(bound)}{median}; held {side} {figure.shown(held)}"
    if figure.rises_only:
        return ERROR, True, f"normal (at most {figure.shown(warning_high)})"
    return ERROR, True, f"normal (within {figure.shown(warning_low)} to {figure.shown(warning_high)})"


def figure_check(figure: Figure, value: float, window: Window, bounds: Bounds) -> Check:
    """One figure of the month against its band, in a sentence: '346 products, against 705 to 714 in the 6
    months before (2020-01 to 2020-06): held, below 390 (their median is 709)'."""
    values = [profile[figure.key] for _, profile in window.compared]
    year_before = (window.last_year[0], window.last_year[1][figure.key]) if window.last_year else None
    limits = band(figure, values, year_before[1] if year_before else None, bounds)
    seasonal = year_before if limits.seasonal else None
    level, passed, verdict = _verdict(figure, value, limits, len(values))
    (warning_low, warning_high), (error_low, error_high) = limits.warning, limits.error
    expected = (
        f"at most {figure.shown(warning_high)}; held above {figure.shown(error_high)}"
        if figure.rises_only
        else f"{figure.shown(warning_low)} to {figure.shown(warning_high)}; held outside "
        f"{figure.shown(error_low)} to {figure.shown(error_high)}"
    )
    return Check(
        f"{figure.name} against the months before",
        level,
        passed,
        figure.shown(value),
        expected,
        f"{figure.phrase.format(figure.shown(value))}, {_compared_with(figure, window, seasonal)}: {verdict}",
        key=figure.check_key,
        kind=PLAUSIBILITY,
        context={
            "value": value,
            "months": [month for month, _ in window.compared],
            "values": values,
            "median": limits.median,
            "same_month_last_year": {"month": seasonal[0], "value": seasonal[1]} if seasonal else None,
            "warning": list(limits.warning),
            "error": list(limits.error),
        },
    )


def history_checks(profile: dict[str, float], window: Window, bounds: Bounds) -> list[Check]:
    """Each figure of the month's profile against its band; none when no month before can serve."""
    if not window.compared:
        return []
    return [figure_check(figure, profile[figure.key], window, bounds) for figure in FIGURES]


def compared_with(month: str, window: Window, checks: list[Check]) -> dict[str, Any]:
    """quality.json's account of the history a month was judged against, with a sentence for its readers:
    'Judged against the 6 months before (2020-01 to 2020-06): 714 products against 705 to 711, a turnover of
    70,568.60 € against 66,012.40 € to 69,904.10 €; every figure within its band.'"""
    months = [label for label, _ in window.compared]
    if not months:
        words = f"History checks had nothing to compare with: no month of the {LOOKED_BACK} before {month} has figures."
    else:
        words = (
            f"Judged against {months[0]}, the only month before with figures"
            if len(months) == 1
            else f"Judged against the {len(months)} months before ({months[0]} to {months[-1]})"
        )
        if window.skipped:
            words += ", without " + "; ".join(f"{label} ({reason})" for label, reason in window.skipped)
        if window.last_year:
            words += f", and {window.last_year[0]}, the same month a year before"
        judged = {check.key: check for check in checks if check.key in {figure.check_key for figure in FIGURES}}
        figures = []
        for figure in FIGURES:
            check = judged.get(figure.check_key)
            if figure.key in ("products", "turnover") and check and check.context:
                low, high = (figure.shown(value(check.context["values"])) for value in (min, max))
                figures.append(f"{figure.phrase.format(check.observed)} against {low}{f' to {high}' * (low != high)}")
        outside = [check for check in judged.values() if not check.passed]
        verdict = (
            "outside its band: " + ", ".join(check.name.removesuffix(" against the months before") for check in outside)
            if outside
            else "every figure within its band"
        )
        words += f": {', '.join(figures)}; {verdict}."
    return {
        "months": months,
        "skipped": [{"month": label, "reason": reason} for label, reason in window.skipped],
        "same_month_last_year": window.last_year[0] if window.last_year else None,
        "summary": words,
    }


def stale_uploads(manifest: dict[str, Any], records: list[dict[str, Any]]) -> list[Check]:
    """erp.xlsx and web.xlsx, whose stock, prices and sales change every month, against every export the months
    before recorded: the same bytes are a file uploaded again. liaison.xlsx changes only with the catalogue:
    last month's file is normal, and a link table really out of date shows in the join checks."""
    earlier: dict[str, str] = {}
    for record in records:  # oldest first: a file seen twice is named by its latest month
        for source, sha256 in (record.get("sha256") or {}).items():
            earlier[sha256] = f"the {source}.xlsx of {record['month']}"
    if not earlier:
        return []
    months = len([record for record in records if record.get("sha256")])
    checks = []
    for source in STALE_SOURCES:
        sha256 = manifest[source]["sha256"]
        same = earlier.get(sha256)
        checks.append(
            Check(
                f"{source}.xlsx a new export, not a file of the months before",
                ERROR,
                same is None,
                same or "a new file",
                f"none of the exports of the {months} month{'s' if months != 1 else ''} before",
                f"{source}.xlsx is byte for byte {same} (sha256 {sha256[:12]}): a stale upload, held" if same else "",
                key=f"stale-{source}",
                kind=PLAUSIBILITY,
            )
        )
    return checks
