"""Who sends the month's emails, to whom, and through which SMTP server: Luigi's [smtp] and [email] sections."""

import base64
import warnings
from dataclasses import dataclass, field
from email.utils import getaddresses

import luigi
import luigi.configuration
import luigi.notifications

from bottleneck import config

REDACTED = "********"


@dataclass(frozen=True)
class SmtpSettings:
    """Luigi's [smtp] section and the delivery options, read once; the password is never shown by repr."""

    host: str
    port: int = 0
    ssl: bool = False
    no_tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    local_hostname: str | None = None
    ca_bundle: str = ""
    retry_seconds: float = 300.0

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port or (465 if self.ssl else 25)}"

    def redact(self, text: str) -> str:
        """The text with the password (and the base64 of what AUTH sends) blotted out."""
        if not self.password:
            return text
        secrets = {self.password, base64.b64encode(self.password.encode()).decode()}
        if self.username:
            secrets.add(base64.b64encode(f"\0{self.username}\0{self.password}".encode()).decode())
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def smtp_host_configured() -> bool:
    """False in the embedded default: no [smtp] host in the configuration, so emails become .eml files."""
    parser = luigi.configuration.get_config()
    for section, option in (("smtp", "host"), ("core", "smtp_host")):
        if parser.has_option(section, option):
            return bool(parser.get(section, option).strip())
    return luigi.notifications.smtp().host not in ("", "localhost")


def smtp_settings() -> SmtpSettings:
    with warnings.catch_warnings():
        # Luigi's own [smtp] defaults username and password to None, and warns that None is not a string.
        warnings.simplefilter("ignore", UserWarning)
        smtp = luigi.notifications.smtp()
    options = config.settings()
    return SmtpSettings(
        host=smtp.host.strip() if smtp_host_configured() else "",
        port=smtp.port,
        ssl=smtp.ssl,
        no_tls=smtp.no_tls,
        username=smtp.username or None,
        password=smtp.password or None,
        timeout=smtp.timeout,
        local_hostname=smtp.local_hostname,
        ca_bundle=options.smtp_ca_bundle,
        retry_seconds=options.smtp_retry_seconds,
    )


def delivery_mode(settings: SmtpSettings | None = None) -> str:
    """How the month's emails go: "smtp" (sent) or "lake" (written to the lake as .eml, nothing sent).

    [bottleneck] delivery says it; unset, it is "smtp" when an [smtp] host is configured, so that a
    configuration that sends keeps sending, and "lake" otherwise (the demo, a laptop).
    """
    stated = config.settings().delivery
    if stated:
        return stated
    return "smtp" if (settings or smtp_settings()).host else "lake"


def addresses(value: str) -> list[str]:
    """A comma list of addresses, as in [email] receiver or [bottleneck] alert_receivers."""
    return [address for _, address in getaddresses([value or ""]) if address]


def sender() -> str:
    return luigi.notifications.email().sender


def report_receivers() -> list[str]:
    return addresses(luigi.notifications.email().receiver)
