"""What a run makes sure of before it does anything: that it would deliver the month, and that its locks hold.

`bottleneck-run` and `bottleneck-admin reprocess` call `require_ready` before Luigi schedules a task;
MonthEmail's complete() calls it too, so that `luigi --module bottleneck` refuses while it schedules.
"""

import datetime as dt

import luigi.configuration

from bottleneck import alerts, config, lock_probe, mail
from bottleneck.errors import ConfigurationError

DELIVERY_MODES = ("", "smtp", "lake")


def delivery_problems() -> list[str]:
    """What would stop the emails from reaching anyone when they are sent (smtp mode); none in lake mode.

    Alert receivers fall back to the report's when [bottleneck] delivery is unset; `delivery = smtp`
    states a production setup, whose failures go to its own operators."""
    settings = mail.smtp_settings()
    if mail.delivery_mode(settings) != "smtp":
        return []
    problems = []
    if not settings.host:
        problems.append("[smtp] host is empty (Helm chart: smtp.host)")
    if not mail.report_receivers():
        problems.append("[email] receiver is empty (Helm chart: email.recipients)")
    if config.settings().delivery and not mail.addresses(config.settings().alert_receivers):
        problems.append("[bottleneck] alert_receivers is empty (Helm chart: alertRecipients)")
    return problems


def require_delivery() -> None:
    """Raises ConfigurationError (exit 10), naming every setting missing, when the emails would reach nobody."""
    # Luigi's own error for a value out of its choices names no value and no choice.
    stated = luigi.configuration.get_config().get("bottleneck", "delivery", "").strip()
    if stated not in DELIVERY_MODES:
        raise ConfigurationError(f"[bottleneck] delivery = {stated!r}: the choices are smtp and lake (or empty)")
    problems = delivery_problems()
    if problems:
        mode = (
            "[bottleneck] delivery = smtp"
            if config.settings().delivery
            else "an [smtp] host is set, so the emails are sent ([bottleneck] delivery unset)"
        )
        raise ConfigurationError(
            f"{mode}, but {'; '.join(problems)}: the report or the failure alerts would reach nobody. Set "
            "them, or set [bottleneck] delivery = lake to write the emails to the lake instead (a demo, a laptop)"
        )


def delivery_summary() -> str:
    """Where the emails go, in a line for `bottleneck-admin check` (after require_delivery passed)."""
    settings = mail.smtp_settings()
    if mail.delivery_mode(settings) == "lake":
        return "lake: the report and the alerts are written to the lake as .eml files, nobody is emailed"
    return (
        f"smtp: the report to {', '.join(mail.report_receivers())}, the alerts to {', '.join(alerts.receivers())}, "
        f"through {settings.server}"
    )


def require_ready(month: dt.date) -> str | None:
    """Refuses a run that would not deliver (ConfigurationError, exit 10) or whose S3 locks would not hold
    (lock_probe.UnsafeLockStoreError, exit 9). Returns the lock store proven (None: a local lock folder)."""
    require_delivery()
    return lock_probe.require_conditional_writes(month)
