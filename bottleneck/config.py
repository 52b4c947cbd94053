"""The `[bottleneck]` section of luigi.cfg, and the Luigi defaults the pipeline cannot run without."""

import datetime as dt
import os
from typing import Any
from zoneinfo import ZoneInfo

import luigi
import luigi.configuration

DEFAULT_LAKE = "./lake"

# Luigi exits 0 when a task fails unless [retcode] says otherwise, and a luigi.cfg in the repo is not
# read from another folder: so the codes are set here, where any run imports them. A luigi.cfg that
# sets one keeps its own value. Months run by another worker (already_running, not_run) are not
# failures: a scaled-out backfill's workers each exit 0 when every month is done.
RETCODES = {
    "task_failed": "1",
    "missing_data": "3",
    "unhandled_exception": "4",
    "scheduling_error": "5",
    "already_running": "0",
    "not_run": "0",
}


class bottleneck(luigi.Config):  # noqa: N801 - Luigi names a config class after its section
    lake = luigi.Parameter(
        default=DEFAULT_LAKE,
        description="Lake root: s3://bucket/prefix or a local folder. BOTTLENECK_LAKE overrides it.",
    )
    timezone = luigi.Parameter(default="Europe/Paris", description="Time zone of the default month.")
    premium_zscore = luigi.FloatParameter(
        default=2.0, description="A wine is premium when its price z-score is above this."
    )
    max_file_mb = luigi.FloatParameter(default=200.0, description="Largest raw export accepted, in MB.")
    max_unpacked_mb = luigi.FloatParameter(
        default=2000.0, description="Largest uncompressed size of a raw workbook accepted, in MB."
    )
    retry_seconds = luigi.FloatParameter(
        default=60.0, description="How long transient lake errors are retried, in seconds."
    )
    alert_receivers = luigi.Parameter(default="", description="Operators alerted of failures (comma list).")
    smtp_ca_bundle = luigi.Parameter(
        default="",
        description="PEM file of the CAs trusted for the SMTP server's certificate (default: the system's).",
    )
    smtp_retry_seconds = luigi.FloatParameter(
        default=300.0,
        description="How long transient SMTP failures (refused connection, timeout, 4xx) are retried.",
    )
    pushgateway = luigi.Parameter(
        default="",
        description="URL of a Prometheus Pushgateway each run pushes its metrics to (empty: none).",
    )
    delivery = luigi.ChoiceParameter(
        default="",
        choices=("", "smtp", "lake"),  # bottleneck.preflight names a value out of them
        description="smtp: emails are sent, and a run without [smtp] host or receivers refuses to start; lake: "
        "they are written to the lake as .eml, nothing is sent. Empty: smtp when an [smtp] host is set, else lake.",
    )
    lock_folder = luigi.Parameter(
        default="",
        description="A folder every run shares where the month locks are held (flock), for an S3 store that does "
        "not honour conditional writes. Empty: the locks live in the lake.",
    )
    scheduler_fallback = luigi.BoolParameter(
        default=True,
        parsing=luigi.BoolParameter.EXPLICIT_PARSING,
        description="bottleneck-run: when the central scheduler cannot be reached at start, warn and run "
        "with the local scheduler instead of failing (the visualiser never blocks the report).",
    )
    # What a normal month looks like (docs/quality-gate.md says why each default): beyond a warning bound the
    # report says so; beyond an error bound the month is held (exit 7) until an operator releases it.
    history_months = luigi.IntParameter(
        default=6, description="How many of the months before (with figures, at most 12) a month is judged against."
    )
    history_fall_warning = luigi.FloatParameter(
        default=25.0, description="% below the median of those months that warns (counts, units, turnover)."
    )
    history_fall_error = luigi.FloatParameter(default=45.0, description="% below their median that holds the month.")
    history_rise_warning = luigi.FloatParameter(default=100.0, description="% above their median that warns.")
    history_rise_error = luigi.FloatParameter(default=300.0, description="% above their median that holds the month.")
    history_mads_warning = luigi.FloatParameter(
        default=4.0,
        description="With 3 months or more, a band is at least this many scaled median absolute deviations wide.",
    )
    history_mads_error = luigi.FloatParameter(default=6.0, description="The same, for the band that holds the month.")
    history_points_warning = luigi.FloatParameter(
        default=3.0, description="Percentage points from their median that warn (premium share, join losses)."
    )
    history_points_error = luigi.FloatParameter(
        default=10.0, description="Percentage points from their median that hold the month."
    )
    price_move_factor = luigi.FloatParameter(
        default=2.0, description="A wine whose price is this many times (or 1/this of) the month before's: a warning."
    )
    units_jump_factor = luigi.FloatParameter(
        default=5.0, description="A wine that sold this many times its best month of those compared: a warning."
    )
    join_loss_warning = luigi.FloatParameter(
        default=25.0, description="% of the clean erp / linked liaison rows the join may lose before a warning."
    )
    join_loss_error = luigi.FloatParameter(
        default=40.0, description="% of the clean erp / linked liaison rows lost in the join that holds the month."
    )


def settings() -> bottleneck:
    """The [bottleneck] options in force, as Luigi reads them: luigi.cfg (environment variables interpolated)
    and the command line (`--bottleneck-premium-zscore 2.5`)."""
    return bottleneck()


# The settings that change what a month's outputs hold. They are recorded when a month starts (in its
# manifest) and a month is never finished with other values: outputs of two thresholds are never mixed.
RESULT_SETTINGS = ("premium_zscore",)


def result_settings() -> dict[str, Any]:
    current = settings()
    return {name: getattr(current, name) for name in RESULT_SETTINGS}


def lake_url() -> str:
    return os.environ.get("BOTTLENECK_LAKE") or settings().lake


def current_month() -> dt.date:
    """The first day of the current month in the configured time zone."""
    zone = luigi.configuration.get_config().get("bottleneck", "timezone", "Europe/Paris")
    today = dt.datetime.now(ZoneInfo(zone)).date()
    return today.replace(day=1)


# Luigi's pid lock is keyed on the command line alone: it would stop a run of the same month in
# another lake, and exit 0 ("already running") having done nothing. Runs of one month are kept apart
# by the lake itself (atomic outputs, and the email's lock), so the pid lock is off unless set.
CORE = {"no_lock": "true"}


# Luigi's RangeMonthly silently skips months more than `months_back` (13 by default) before the time it
# runs, so a backfill of an old year would do nothing. A reach of a thousand years, which no clock makes
# stale however long ago the package was imported: the earliest month is ReportMonth's (2000-01), and a
# range that starts before it is refused by name rather than cut short.
RANGE_MONTHLY = {"months_back": str(12 * 1000)}


# Luigi's own error emails go to the report's readers, are skipped when stdout is a terminal and verify no TLS
# certificate: the package alerts the operators itself (bottleneck.alerts).
EMAIL = {"format": "none"}
# Options that say the same as an option of LUIGI_DEFAULTS under another name: either one set, neither is added.
ALIASES = {("email", "format"): ("core", "email-type")}


def luigi_defaults() -> dict[str, dict[str, str]]:
    """Every option the package sets, only where luigi.cfg says nothing, by section: the one list of them.

    Set when the package is imported, for `luigi --module bottleneck` reads some of them before any task
    runs (its pid lock) or after the last (its exit codes); a value set in luigi.cfg is never changed."""
    return {"retcode": RETCODES, "core": CORE, "RangeMonthly": RANGE_MONTHLY, "email": EMAIL}


def apply_luigi_defaults() -> None:
    # Imported here rather than autoloaded by Luigi, which is deprecated: registers RangeMonthly,
    # so that `bottleneck-run RangeMonthly --of RunMonth --start YYYY-MM --stop YYYY-MM` backfills.
    import luigi.tools.range

    config = luigi.configuration.get_config()
    for section, defaults in luigi_defaults().items():
        for name, value in defaults.items():
            alias = ALIASES.get((section, name))
            if config.has_option(section, name) or (alias and config.has_option(*alias)):
                continue
            if not config.has_section(section):
                config.add_section(section)
            config.set(section, name, value)
