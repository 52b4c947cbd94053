"""Delivering an email: by SMTP with TLS and retries, or (delivery = lake) as an .eml file in the lake."""

import contextlib
import datetime as dt
import hashlib
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from typing import Any

import backoff

from bottleneck import lake
from bottleneck.errors import ConfigurationError, DeliveryError
from bottleneck.mail.message import ATTACHMENTS, eml_bytes, month_report_email
from bottleneck.mail.settings import SmtpSettings, delivery_mode, report_receivers, sender, smtp_settings

# A child of Luigi's interface logger, so that these lines show wherever Luigi's own do.
logger = logging.getLogger(f"luigi-interface.{__name__}")


class NoStartTls(smtplib.SMTPNotSupportedError):
    """The server offers no STARTTLS, and sending in clear was not asked for."""


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    # create_default_context verifies the certificate chain and the host name; a CA bundle only adds trust.
    return ssl.create_default_context(cafile=settings.ca_bundle or None)


def _text(reply: bytes | str) -> str:
    """An SMTP reply's text, which smtplib gives as bytes or str."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _reply(error: smtplib.SMTPResponseException) -> str:
    return f"{error.smtp_code} {_text(error.smtp_error)}".strip()


def is_transient(error: BaseException) -> bool:
    """Worth another attempt: no connection, a timeout, a dropped session or a 4xx reply."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, smtplib.SMTPException):  # an OSError too, but a protocol failure: permanent
        return False
    if isinstance(error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return True
    if isinstance(error, ssl.SSLError):
        return False
    return isinstance(error, (OSError, TimeoutError))


def describe(error: BaseException, settings: SmtpSettings) -> str:
    """What went wrong, for a human, with a hint at the setting to change; never a credential."""
    where = f"SMTP server {settings.server}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        said = _reply(error)
        return f"{where} refused the login ({said}): check [smtp] username and password"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in error.recipients.items())
        return f"{where} refused every recipient ({refused})"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{where} replied {_reply(error)}"
    if isinstance(error, NoStartTls):
        return (
            f"{where} does not offer STARTTLS: use [smtp] ssl=true for implicit TLS (port 465), "
            "or no_tls=true to send in clear on a trusted network"
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"{where} presented a certificate that is not trusted ({error.verify_message}): "
            "set [bottleneck] smtp_ca_bundle to the CA that signed it, and [smtp] host to a name it covers"
        )
    if isinstance(error, ConnectionRefusedError):
        return f"{where} refused the connection"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"{where} did not answer within {settings.timeout:g}s"
    return f"{where}: {type(error).__name__}: {error}"


@contextlib.contextmanager
def connected(settings: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """An SMTP connection, TLS verified (unless no_tls) and logged in when a login is set; no retry."""
    timeout: float = settings.timeout or socket.getdefaulttimeout()  # type: ignore[assignment]  # None: no limit, as socket takes it
    address = (settings.host, settings.port, settings.local_hostname)
    connection = (
        smtplib.SMTP_SSL(*address, timeout=timeout, context=_tls_context(settings))
        if settings.ssl
        else smtplib.SMTP(*address, timeout=timeout)
    )
    with connection:
        connection.ehlo()
        if not settings.ssl and not settings.no_tls:
            # Required, not opportunistic: a server (or someone between) that hides STARTTLS gets no password.
            if not connection.has_extn("starttls"):
                raise NoStartTls("STARTTLS extension not supported by server.")
            connection.starttls(context=_tls_context(settings))
            connection.ehlo()
        if settings.username and settings.password:
            connection.login(settings.username, settings.password)
        yield connection


def _send_once(message: EmailMessage, recipients: list[str], settings: SmtpSettings) -> dict[str, tuple[int, bytes]]:
    with connected(settings) as connection:
        return connection.send_message(message, to_addrs=recipients)


def send(message: EmailMessage, recipients: list[str], settings: SmtpSettings) -> dict[str, str]:
    """Sends by SMTP, retrying transient failures for settings.retry_seconds; returns the refused recipients.

    Raises DeliveryError at once for a permanent failure, or when the retry window is spent.
    """
    if not recipients:
        raise DeliveryError(f"email {message['Subject']!r} has no recipients: set [email] receiver")
    attempts = {"tries": 0, "started": time.monotonic()}

    def log_retry(details: Mapping[str, Any]) -> None:
        logger.warning(
            "email %s: attempt %d failed (%s), retrying in %.1fs",
            message["Message-ID"],
            details["tries"],
            settings.redact(describe(details["exception"], settings)),
            details["wait"],
        )

    @backoff.on_exception(
        backoff.expo,
        (smtplib.SMTPException, OSError),
        giveup=lambda e: not is_transient(e),
        max_time=settings.retry_seconds,
        max_value=8,
        on_backoff=log_retry,
        logger=None,
    )
    def attempt() -> dict[str, tuple[int, bytes]]:
        attempts["tries"] += 1
        return _send_once(message, recipients, settings)

    try:
        refused = attempt()
    except (smtplib.SMTPException, OSError) as error:
        reason = settings.redact(describe(error, settings))
        if is_transient(error):
            elapsed = time.monotonic() - attempts["started"]
            problem = (
                f"gave up after {attempts['tries']} attempts in {elapsed:.0f}s "
                f"([bottleneck] smtp_retry_seconds={settings.retry_seconds:g}): {reason}"
            )
        else:
            problem = f"permanent failure, not retried: {reason}"
        # Raised from None: the SMTP exception is already reworded, and its own text is not redacted.
        raise DeliveryError(f"email {message['Subject']!r} not delivered: {problem}") from None
    if refused:
        logger.warning("email %s: refused by the server for %s", message["Message-ID"], ", ".join(refused))
    return {rcpt: f"{code} {_text(text)}" for rcpt, (code, text) in refused.items()}


def digest(attachments: dict[str, bytes]) -> dict[str, dict[str, int | str]]:
    return {
        name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()} for name, data in attachments.items()
    }


def deliver(
    message: EmailMessage,
    recipients: list[str],
    month: dt.date,
    eml_dataset: str,
    settings: SmtpSettings | None = None,
    **fields: str,
) -> dict[str, Any]:
    """Sends the message, or with [bottleneck] delivery = lake writes it to the lake as .eml; returns what
    happened. The returned record holds no credential: it is stored as the email's receipt.
    """
    settings = settings or smtp_settings()
    record: dict[str, Any] = {
        "message_id": message["Message-ID"],
        "subject": message["Subject"],
        "sender": message["From"],
        "recipients": recipients,
    }
    if delivery_mode(settings) == "lake":
        eml = lake.target(month, eml_dataset, **fields)
        lake.write_bytes(eml, eml_bytes(message))
        logger.info("delivery = lake: email %r written to %s, not sent", message["Subject"], eml.path)
        record.update(transport="eml", path=eml.path)
    elif not settings.host:
        # A run refuses to start without a host (bottleneck.preflight); this is never reached through it.
        raise ConfigurationError(f"email {message['Subject']!r} not sent: [bottleneck] delivery = smtp, no [smtp] host")
    else:
        refused = send(message, recipients, settings)
        logger.info(
            "email %s %r sent to %d recipient(s) via %s",
            message["Message-ID"],
            message["Subject"],
            len(recipients) - len(refused),
            settings.server,
        )
        record.update(
            transport="smtp",
            server=settings.server,
            refused=refused,
            recipients=[r for r in recipients if r not in refused],
        )
    record["sent_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return record


def deliver_month_report(
    month: dt.date, reports: dict[str, bytes], settings: SmtpSettings | None = None
) -> dict[str, Any]:
    """Composes the month's report email from its stored files and delivers it; returns the receipt to store.

    `reports` maps each file of reports/YYYY/MM/ to its bytes as read from the lake.
    """
    receivers = report_receivers()
    message = month_report_email(reports, sender=sender(), receivers=receivers)
    receipt = deliver(message, receivers, month, "email_eml", settings)
    attachments = {name: reports[name] for name in ATTACHMENTS if name in reports}
    return {"month": f"{month:%Y-%m}", **receipt, "attachments": digest(attachments)}
