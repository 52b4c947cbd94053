"""The month's emails: composing the report and the failure alert, and delivering them by SMTP or as .eml."""
import base64
import contextlib
import datetime as dt
import hashlib
import html
import json
import logging
import smtplib
import socket
import ssl
import time
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

import backoff
import luigi
import luigi.configuration
import luigi.notifications

from bottleneck import config, lake
from bottleneck.errors import DeliveryError

# A child of Luigi's interface logger, so that these lines show wherever Luigi's own do.
logger = logging.getLogger(f"luigi-interface.{__name__}")

ATTACHMENTS = ("report.xlsx", "premium_wines.csv", "ordinary_wines.csv")
MIME_TYPES = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".csv": ("text", "csv"),
    ".json": ("application", "json"),
}
RERUN = "bottleneck-run RunMonth --month {month}"
REDACTED = "********"


# ---------------------------------------------------------------------------------------------------------------
# Composing


def money(value) -> str:
    """Euros with thousands separators and cents: 70568.6 -> '70,568.60 €'."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):,.2f} €"


def _shown(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1e5 else f"{value:,.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _figures(quality: dict) -> list[tuple[str, str]]:
    return [
        ("Products", _shown(int(quality["products"]))),
        ("Premium wines", _shown(int(quality["premium"]))),
        ("Ordinary wines", _shown(int(quality["ordinary"]))),
        ("Turnover", money(Decimal(quality["turnover_cents"]) / 100 if "turnover_cents" in quality
                           else quality["turnover"])),
    ]


def warnings_of(quality: dict) -> list[dict]:
    """The checks that did not pass; a report exists only when none of them is error-level."""
    return [check for check in quality.get("checks", []) if check.get("status") != "passed"]


def _subject(text: str) -> str:
    prefix = luigi.notifications.email().prefix
    return f"{prefix} {text}".strip() if prefix else text


def _text_gate(checks: list[dict]) -> list[str]:
    # One line a check rather than a padded table: an observed value can be a long JSON object.
    lines = []
    for c in checks:
        line = (f"[{c.get('status', '')}] {c.get('name', '')} ({c.get('level', '')}): "
                f"observed {_shown(c.get('observed'))}, expected {_shown(c.get('expected'))}")
        lines.append(line + (f" - {c['detail']}" if c.get("detail") else ""))
    return lines


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    cell = 'style="border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top"'
    head = "".join(f"<th {cell}>{html.escape(name)}</th>" for name in header)
    body = "".join(
        "<tr>" + "".join(f"<td {cell}>{html.escape(value)}</td>" for value in row) + "</tr>" for row in rows
    )
    return f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _headers(message: EmailMessage, subject: str, sender: str, receivers: list[str], when: dt.datetime) -> None:
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(receivers) if receivers else "undisclosed-recipients:;"
    message["Date"] = format_datetime(when)
    domain = sender.rpartition("@")[2].strip("<> ") or None
    message["Message-ID"] = make_msgid(domain=domain)


def report_email(quality: dict, attachments: dict[str, bytes], *, sender: str, receivers: list[str],
                 when: dt.datetime | None = None) -> EmailMessage:
    """The month's report: figures, quality gate and warnings in text and HTML, the files attached as stored."""
    month = str(quality["month"])
    figures = _figures(quality)
    checks = quality.get("checks", [])
    gate_header = ["Check", "Level", "Status", "Observed", "Expected", "Detail"]
    gate_rows = [
        [str(c.get("name", "")), str(c.get("level", "")), str(c.get("status", "")), _shown(c.get("observed")),
         _shown(c.get("expected")), str(c.get("detail") or "")]
        for c in checks
    ]
    warnings = warnings_of(quality)
    warning_lines = [f"{w.get('name')}: {w.get('detail') or _shown(w.get('observed'))}" for w in warnings]

    text = [f"BottleNeck wine report for {month}", "", *(f"{name}: {value}" for name, value in figures), ""]
    text += ["Warnings:", *(f"- {line}" for line in warning_lines), ""] if warnings else ["No warnings.", ""]
    text += ["Quality gate:", *(_text_gate(checks) or ["(no checks recorded)"]), ""]
    text += ["Attached: " + ", ".join(attachments), ""]

    page = [
        f"<h1>BottleNeck wine report for {html.escape(month)}</h1>",
        _html_table(["Figure", "Value"], [list(row) for row in figures]),
    ]
    if warnings:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in warning_lines)
        page += ["<h2>Warnings</h2>", f"<ul>{items}</ul>"]
    else:
        page += ["<p>No warnings.</p>"]
    page += ["<h2>Quality gate</h2>", _html_table(gate_header, gate_rows)]
    page += ["<p>Attached: " + html.escape(", ".join(attachments)) + "</p>"]

    message = EmailMessage()
    suffix = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
    _headers(message, _subject(f"BottleNeck wine report {month}{suffix}"), sender, receivers,
             when or dt.datetime.now(dt.timezone.utc))
    message.set_content("\n".join(text), cte="quoted-printable")
    message.add_alternative(_html_document(month, "\n".join(page)), subtype="html", cte="quoted-printable")
    for name, data in attachments.items():
        maintype, subtype = MIME_TYPES.get(name[name.rfind("."):], ("application", "octet-stream"))
        # Bytes are base64-encoded whatever their type, so a CSV keeps its line endings and encoding.
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def _html_document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f'<body style="font-family:sans-serif">{body}</body></html>')


def alert_email(*, month: str, task: str, error: str, log_lines: list[str], sender: str, receivers: list[str],
                when: dt.datetime | None = None) -> EmailMessage:
    """The operators' alert of a failed run: what failed, why, the log before it, and how to run it again."""
    when = when or dt.datetime.now(dt.timezone.utc)
    rerun = RERUN.format(month=month)
    text = [
        f"The BottleNeck run for {month} failed.", "",
        f"Month: {month}", f"Failed task: {task}", f"Time: {when.isoformat(timespec='seconds')}", "",
        "Error:", error, "",
        "Log lines before the failure:", *(log_lines or ["(none captured)"]), "",
        "When the cause is fixed, run the month again (finished tasks are not redone):", f"    {rerun}", "",
    ]
    page = [
        f"<h1>BottleNeck run for {html.escape(month)} failed</h1>",
        _html_table(["", ""], [["Month", month], ["Failed task", task], ["Time", when.isoformat(timespec="seconds")]]),
        "<h2>Error</h2>", f"<pre>{html.escape(error)}</pre>",
        "<h2>Log lines before the failure</h2>",
        f"<pre>{html.escape(chr(10).join(log_lines) or '(none captured)')}</pre>",
        "<h2>Re-run</h2><p>When the cause is fixed, run the month again (finished tasks are not redone):</p>",
        f"<pre>{html.escape(rerun)}</pre>",
    ]
    message = EmailMessage()
    first_line = (error.strip().splitlines() or [""])[0][:120]
    _headers(message, _subject(f"BottleNeck run {month} FAILED in {task.split('(')[0]}: {first_line}"), sender,
             receivers, when)
    message.set_content("\n".join(text), cte="quoted-printable")
    message.add_alternative(_html_document(f"{month} failed", "\n".join(page)), subtype="html",
                            cte="quoted-printable")
    return message


# ---------------------------------------------------------------------------------------------------------------
# Settings


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
        port=smtp.port, ssl=smtp.ssl, no_tls=smtp.no_tls, username=smtp.username or None,
        password=smtp.password or None, timeout=smtp.timeout, local_hostname=smtp.local_hostname,
        ca_bundle=options.smtp_ca_bundle, retry_seconds=options.smtp_retry_seconds,
    )


def addresses(value: str) -> list[str]:
    """A comma list of addresses, as in [email] receiver or [bottleneck] alert_receivers."""
    return [address for _, address in getaddresses([value or ""]) if address]


def sender() -> str:
    return luigi.notifications.email().sender


def report_receivers() -> list[str]:
    return addresses(luigi.notifications.email().receiver)


# ---------------------------------------------------------------------------------------------------------------
# Delivering


class NoStartTls(smtplib.SMTPNotSupportedError):
    """The server offers no STARTTLS, and sending in clear was not asked for."""


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    # create_default_context verifies the certificate chain and the host name; a CA bundle only adds trust.
    return ssl.create_default_context(cafile=settings.ca_bundle or None)


def _text(reply) -> str:
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
        refused = "; ".join(f"{rcpt}: {code} {_text(msg)}"
                            for rcpt, (code, msg) in error.recipients.items())
        return f"{where} refused every recipient ({refused})"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{where} replied {_reply(error)}"
    if isinstance(error, NoStartTls):
        return (f"{where} does not offer STARTTLS: use [smtp] ssl=true for implicit TLS (port 465), "
                "or no_tls=true to send in clear on a trusted network")
    if isinstance(error, ssl.SSLCertVerificationError):
        return (f"{where} presented a certificate that is not trusted ({error.verify_message}): "
                "set [bottleneck] smtp_ca_bundle to the CA that signed it, and [smtp] host to a name it covers")
    if isinstance(error, ConnectionRefusedError):
        return f"{where} refused the connection"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"{where} did not answer within {settings.timeout:g}s"
    return f"{where}: {type(error).__name__}: {error}"


@contextlib.contextmanager
def connected(settings: SmtpSettings):
    """An SMTP connection, TLS verified (unless no_tls) and logged in when a login is set; no retry."""
    kwargs = {"host": settings.host, "port": settings.port, "local_hostname": settings.local_hostname,
              "timeout": settings.timeout or socket.getdefaulttimeout()}
    if settings.ssl:
        connection = smtplib.SMTP_SSL(context=_tls_context(settings), **kwargs)
    else:
        connection = smtplib.SMTP(**kwargs)
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


def _send_once(message: EmailMessage, recipients: list[str], settings: SmtpSettings) -> dict:
    with connected(settings) as connection:
        return connection.send_message(message, to_addrs=recipients)


def send(message: EmailMessage, recipients: list[str], settings: SmtpSettings) -> dict:
    """Sends by SMTP, retrying transient failures for settings.retry_seconds; returns the refused recipients.

    Raises DeliveryError at once for a permanent failure, or when the retry window is spent.
    """
    if not recipients:
        raise DeliveryError(f"email {message['Subject']!r} has no recipients: set [email] receiver")
    attempts = {"tries": 0, "started": time.monotonic()}

    def log_retry(details):
        logger.warning("email %s: attempt %d failed (%s), retrying in %.1fs", message["Message-ID"], details["tries"],
                       settings.redact(describe(details["exception"], settings)), details["wait"])

    @backoff.on_exception(backoff.expo, (smtplib.SMTPException, OSError), giveup=lambda e: not is_transient(e),
                          max_time=settings.retry_seconds, max_value=8, on_backoff=log_retry, logger=None)
    def attempt():
        attempts["tries"] += 1
        return _send_once(message, recipients, settings)

    try:
        refused = attempt()
    except (smtplib.SMTPException, OSError) as error:
        reason = settings.redact(describe(error, settings))
        if is_transient(error):
            elapsed = time.monotonic() - attempts["started"]
            problem = (f"gave up after {attempts['tries']} attempts in {elapsed:.0f}s "
                       f"([bottleneck] smtp_retry_seconds={settings.retry_seconds:g}): {reason}")
        else:
            problem = f"permanent failure, not retried: {reason}"
        # Raised from None: the SMTP exception is already reworded, and its own text is not redacted.
        raise DeliveryError(f"email {message['Subject']!r} not delivered: {problem}") from None
    if refused:
        logger.warning("email %s: refused by the server for %s", message["Message-ID"], ", ".join(refused))
    return {rcpt: f"{code} {_text(text)}"
            for rcpt, (code, text) in refused.items()}


def digest(attachments: dict[str, bytes]) -> dict:
    return {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in attachments.items()}


def deliver(message: EmailMessage, recipients: list[str], month: dt.date, eml_dataset: str,
            settings: SmtpSettings | None = None, **fields) -> dict:
    """Sends the message, or without an SMTP host writes it to the lake as .eml; returns what happened.

    The returned record holds no credential: it is stored as the email's receipt.
    """
    settings = settings or smtp_settings()
    record = {
        "message_id": message["Message-ID"],
        "subject": message["Subject"],
        "sender": message["From"],
        "recipients": recipients,
    }
    if not settings.host:
        eml = lake.target(month, eml_dataset, **fields)
        lake.write_bytes(eml, bytes(message))
        logger.info("no [smtp] host configured: email %r written to %s", message["Subject"], eml.path)
        record.update(transport="eml", path=eml.path)
    else:
        refused = send(message, recipients, settings)
        logger.info("email %s %r sent to %d recipient(s) via %s", message["Message-ID"], message["Subject"],
                    len(recipients) - len(refused), settings.server)
        record.update(transport="smtp", server=settings.server, refused=refused,
                      recipients=[r for r in recipients if r not in refused])
    record["sent_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return record


def deliver_month_report(month: dt.date, reports: dict[str, bytes], settings: SmtpSettings | None = None) -> dict:
    """Composes the month's report email from its stored files and delivers it; returns the receipt to store.

    `reports` maps each file of reports/YYYY/MM/ to its bytes as read from the lake; quality.json gives
    the figures and the gate, the workbook and the two CSVs are attached unchanged.
    """
    quality = json.loads(reports["quality.json"])
    attachments = {name: reports[name] for name in ATTACHMENTS}
    receivers = report_receivers()
    message = report_email(quality, attachments, sender=sender(), receivers=receivers)
    receipt = deliver(message, receivers, month, "email_eml", settings)
    return {"month": f"{month:%Y-%m}", **receipt, "attachments": digest(attachments)}
