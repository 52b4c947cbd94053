"""The month's emails: message building (message), addresses and SMTP settings (settings), delivery (delivery)."""

from bottleneck.mail.delivery import (  # noqa: F401
    NoStartTls,
    connected,
    deliver,
    deliver_month_report,
    describe,
    digest,
    is_transient,
    send,
)
from bottleneck.mail.message import (  # noqa: F401
    ATTACHMENTS,
    alert_email,
    eml_bytes,
    month_report_email,
    new_premium_wines,
    report_email,
    warnings_of,
)
from bottleneck.mail.settings import (  # noqa: F401
    REDACTED,
    SmtpSettings,
    addresses,
    report_receivers,
    sender,
    smtp_host_configured,
    smtp_settings,
)
from bottleneck.wording import money  # noqa: F401
