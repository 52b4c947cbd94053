"""The month's emails: message building (message), addresses and SMTP settings (settings), delivery (delivery)."""

from bottleneck.mail.delivery import (
    NoStartTls,
    connected,
    deliver,
    deliver_month_report,
    describe,
    digest,
    is_transient,
    send,
)
from bottleneck.mail.message import (
    ATTACHMENTS,
    alert_email,
    eml_bytes,
    month_report_email,
    new_premium_wines,
    report_email,
    warnings_of,
)
from bottleneck.mail.settings import (
    REDACTED,
    SmtpSettings,
    addresses,
    delivery_mode,
    report_receivers,
    sender,
    smtp_host_configured,
    smtp_settings,
)
from bottleneck.wording import money

__all__ = [
    "ATTACHMENTS",
    "REDACTED",
    "NoStartTls",
    "SmtpSettings",
    "addresses",
    "alert_email",
    "connected",
    "deliver",
    "deliver_month_report",
    "delivery_mode",
    "describe",
    "digest",
    "eml_bytes",
    "is_transient",
    "money",
    "month_report_email",
    "new_premium_wines",
    "report_email",
    "report_receivers",
    "send",
    "sender",
    "smtp_host_configured",
    "smtp_settings",
    "warnings_of",
]
