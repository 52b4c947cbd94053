"""The month's emails as messages: the readers' report, written for them, and the operators' technical alert."""

import binascii
import datetime as dt
import heapq
import html
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.contentmanager import ContentManager
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import luigi.notifications

from bottleneck import wording
from bottleneck.classify import ORDINARY, PREMIUM
from bottleneck.csv_reader import as_written, csv_columns, csv_rows

ATTACHMENTS = ("report.xlsx", "premium_wines.csv", "ordinary_wines.csv", "changes.csv")
MIME_TYPES = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".csv": ("text", "csv"),
    ".json": ("application", "json"),
}
RERUN = "bottleneck-run RunMonth --month {month}"
TOP_WINES = 10
BASE64_LINE_BYTES = 57  # encoded as 76 characters, the longest line RFC 2045 allows
CHANGES_SHOWN = 25


@dataclass(frozen=True)
class Section:
    """One part of the report email, as plain text lines and as HTML."""

    title: str
    lines: list[str]
    html: str


def _html_table(header: list[str], rows: Sequence[list[str]]) -> str:
    cell = 'style="border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top"'
    head = "".join(f"<th {cell}>{html.escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(f"<td {cell}>{html.escape(value)}</td>" for value in row) + "</tr>" for row in rows)
    return f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _text_table(header: list[str], rows: Sequence[list[str]]) -> list[str]:
    widths = [max(len(str(row[column])) for row in [header, *rows]) for column in range(len(header))]
    return [
        "  ".join(str(value).ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def _paragraphs(texts: Sequence[str]) -> str:
    return "".join(f"<p>{html.escape(text)}</p>" for text in texts)


def _items(texts: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(text)}</li>" for text in texts) + "</ul>"


def _section(
    title: str,
    lead: list[str],
    header: list[str] | None = None,
    rows: Sequence[list[str]] = (),
    items: Sequence[str] = (),
) -> Section:
    lines, page = list(lead), _paragraphs(lead)
    if items:
        lines += [f"- {item}" for item in items]
        page += _items(items)
    if header and rows:
        lines += _text_table(header, rows)
        page += _html_table(header, rows)
    return Section(title, lines, page)


def _subject(text: str) -> str:
    prefix = luigi.notifications.email().prefix
    return f"{prefix} {text}".strip() if prefix else text


def _headers(message: EmailMessage, subject: str, sender: str, receivers: list[str], when: dt.datetime) -> None:
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(receivers) if receivers else "undisclosed-recipients:;"
    message["Date"] = format_datetime(when)
    domain = sender.rpartition("@")[2].strip("<> ") or None
    message["Message-ID"] = make_msgid(domain=domain)


def _html_document(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body style="font-family:sans-serif">{body}</body></html>'
    )


def warnings_of(quality: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks that did not pass; a report exists only when none of them is error-level."""
    return [check for check in quality.get("checks", []) if check.get("status") != "passed"]


def _figures_section(quality: dict[str, Any]) -> Section:
    previous = quality.get("previous_month")
    header = [
        "Figure",
        "This month",
        f"Previous month ({previous['month']})" if previous else "Previous month",
        "Change",
        "Change %",
    ]
    return _section("", [wording.comparison_line(quality)], header, wording.headline_rows(quality))


def revenue_rank(revenue: float, product_id: int) -> tuple[float, int]:
    """The rank of a wine among the top wines: by revenue, the larger first, then by product id."""
    return -revenue, product_id


def _top_wines_section(wines: list[dict[str, Any]]) -> Section:
    ranked = sorted(wines, key=lambda wine: revenue_rank(wine["revenue"], wine["product_id"]))[:TOP_WINES]
    rows = [
        [str(rank), wine["wine"], str(wine["product_id"]), wine["category"], wording.money(wine["revenue"])]
        for rank, wine in enumerate(ranked, start=1)
    ]
    lead: list[str] = [] if rows else ["No wine sold this month."]
    return _section(f"Top {len(rows)} wines by revenue", lead, ["#", "Wine", "Product id", "Class", "Revenue"], rows)


def new_premium_wines(wines: list[dict[str, Any]], changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes that made a wine premium this month: a class change, or a new wine that is premium."""
    premium = {wine["product_id"] for wine in wines if wine["category"] == PREMIUM}
    return [
        row
        for row in changes
        if row["change"] == PREMIUM or (row["change"] == "new" and int(row["product_id"]) in premium)
    ]


def _new_premium_section(
    quality: dict[str, Any], wines: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> Section:
    if not quality.get("previous_month"):
        return _section("New premium wines", ["No comparison, so no wine can be called new."])
    found = new_premium_wines(wines, changes)
    sentences = [wording.change_sentence(row) for row in found]
    return _section("New premium wines", [] if found else ["No wine became premium this month."], items=sentences)


def _warnings_section(quality: dict[str, Any]) -> Section:
    sentences = wording.warning_sentences(quality.get("checks", []))
    return _section("Warnings", [] if sentences else ["No warnings."], items=sentences)


def _changes_section(quality: dict[str, Any], changes: list[dict[str, Any]]) -> Section:
    previous = quality.get("previous_month")
    if not previous:
        return _section("Changes", [wording.comparison_line(quality)])
    counts: dict[str, int] = {}
    for row in changes:
        counts[row["change"]] = counts.get(row["change"], 0) + 1
    lead = [wording.change_counts_line(counts) + "."]
    if len(changes) > CHANGES_SHOWN:
        lead.append(f"The first {CHANGES_SHOWN} of {len(changes)} changes; all are in changes.csv.")
    rows = [
        [
            wording.CHANGE_SENTENCES[row["change"]],
            row["wine"],
            str(row["product_id"]),
            wording.change_value(row["change"], row["before"]),
            wording.change_value(row["change"], row["after"]),
        ]
        for row in changes[:CHANGES_SHOWN]
    ]
    return _section(
        f"Changes since {previous['month']}", lead, ["Change", "Wine", "Product id", "Before", "After"], rows
    )


def _year_section(quality: dict[str, Any]) -> Section:
    return _section(
        "A year at a glance",
        ["A month without figures is a gap, not a zero."],
        ["Month", "Products", "Premium wines", "Turnover", "Note"],
        wording.history_rows(quality),
    )


def _gate_section(quality: dict[str, Any]) -> Section:
    checks = quality.get("checks", [])
    return _section(
        "Quality gate",
        [line for line in (wording.gate_line(checks) + ".", wording.judged_against_line(quality)) if line],
        ["Check", "Result", "Observed", "Expected"],
        wording.check_rows(checks),
    )


def _funnel_section(quality: dict[str, Any]) -> Section:
    return _section(
        "Rows through the pipeline", [], ["Source", "Step", "Rows"], wording.funnel_rows(quality.get("funnel", {}))
    )


def report_email(
    quality: dict[str, Any],
    attachments: dict[str, bytes],
    *,
    sender: str,
    receivers: list[str],
    wines: Sequence[dict[str, Any]] = (),
    changes: Sequence[dict[str, Any]] = (),
    when: dt.datetime | None = None,
) -> EmailMessage:
    """The month's report for its readers: what they act on first (figures and their changes, top wines,
    new premium wines, warnings), then the changes, a year at a glance and the gate, in words.

    `wines` holds each wine's product_id, wine, category and revenue; `changes` the rows of changes.csv.
    """
    month = str(quality["month"])
    sections = [
        _figures_section(quality),
        _top_wines_section(list(wines)),
        _new_premium_section(quality, list(wines), list(changes)),
        _warnings_section(quality),
        _changes_section(quality, list(changes)),
        _year_section(quality),
        _gate_section(quality),
        _funnel_section(quality),
        _section("", ["Attached: " + ", ".join(attachments)]),
    ]
    title = f"BottleNeck wine report for {month}"
    text, page = [title, ""], [f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        if section.title:
            text.append(section.title)
            page.append(f"<h2>{html.escape(section.title)}</h2>")
        text += [*section.lines, ""]
        page.append(section.html)

    message = EmailMessage()
    statuses = [check.get("status") for check in warnings_of(quality)]
    counted = [f"{statuses.count('accepted')} accepted"] if "accepted" in statuses else []
    warned = len(statuses) - statuses.count("accepted")
    counted += [f"{warned} warning{'s' if warned != 1 else ''}"] if warned else []
    suffix = f" ({', '.join(counted)})" if counted else ""
    _headers(
        message,
        _subject(f"BottleNeck wine report {month}{suffix}"),
        sender,
        receivers,
        when or dt.datetime.now(dt.UTC),
    )
    message.set_content("\n".join(text), cte="quoted-printable")
    message.add_alternative(_html_document(month, "\n".join(page)), subtype="html", cte="quoted-printable")
    for name, data in attachments.items():
        maintype, subtype = MIME_TYPES.get(name[name.rfind(".") :], ("application", "octet-stream"))
        # Bytes are base64-encoded whatever their type, so a CSV keeps its line endings and encoding.
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name, content_manager=_ATTACHMENTS)
    _random_boundaries(message)
    return message


def _set_attachment(part: EmailMessage, data: bytes, maintype: str, subtype: str, filename: str) -> None:
    """The part email's own handler makes of bytes: base64 in lines of 76 characters (57 bytes each).
    Its encoder decodes and appends each line in Python; here the lines are joined as bytes (0.2 ->
    0.1 s for the 17 MB of a month a hundred times the size of a real one)."""
    part["Content-Type"] = f"{maintype}/{subtype}"
    lines = [data[start : start + BASE64_LINE_BYTES] for start in range(0, len(data), BASE64_LINE_BYTES)]
    part.set_payload(b"".join(map(binascii.b2a_base64, lines)).decode("ascii"))
    part["Content-Transfer-Encoding"] = "base64"
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", filename, header="Content-Disposition")


_ATTACHMENTS = ContentManager()
_ATTACHMENTS.add_set_handler(bytes, _set_attachment)


def eml_bytes(message: EmailMessage) -> bytes:
    """The message as an .eml file holds it: the bytes of bytes(message)."""
    return message.as_bytes(policy=message.policy)


def _random_boundaries(message: EmailMessage) -> None:
    # Left to the generator, each boundary is searched for through the whole encoded message (0.5 s
    # for one of 20 MB); a random 128-bit token is never a line of base64 or quoted-printable text.
    for part in message.walk():
        if part.is_multipart():
            part.set_boundary(f"=_{secrets.token_hex(16)}")


def month_report_email(reports: dict[str, bytes], *, sender: str, receivers: list[str]) -> EmailMessage:
    """The report email made from the month's stored files (reports/YYYY/MM/), attached unchanged."""
    changes = [{**row, "wine": as_written(row["wine"])} for row in csv_rows(reports.get("changes.csv", b""))]
    attachments = {name: reports[name] for name in ATTACHMENTS if name in reports}
    return report_email(
        json.loads(reports["quality.json"]),
        attachments,
        sender=sender,
        receivers=receivers,
        wines=_named_wines(reports),
        changes=changes,
    )


def _named_wines(reports: dict[str, bytes]) -> list[dict[str, Any]]:
    """The wines the email can name, from the CSVs it attaches: every premium wine (the new premium wines
    are among them) and the ordinary wines that can be among the top wines by revenue."""
    wines: list[dict[str, Any]] = []
    for name, category in (("premium_wines.csv", PREMIUM), ("ordinary_wines.csv", ORDINARY)):
        columns = csv_columns(reports[name], ("product_id", "post_title", "revenue"))
        rows: Iterable[tuple[int, str, float]] = zip(
            map(int, columns["product_id"]), columns["post_title"], map(float, columns["revenue"]), strict=True
        )
        if category == ORDINARY:
            rows = heapq.nsmallest(TOP_WINES, rows, key=lambda row: revenue_rank(row[2], row[0]))
        wines += [
            {"product_id": product_id, "wine": as_written(title), "category": category, "revenue": revenue}
            for product_id, title, revenue in rows
        ]
    return wines


def alert_email(
    *,
    month: str,
    task: str,
    error: str,
    log_lines: list[str],
    sender: str,
    receivers: list[str],
    when: dt.datetime | None = None,
    steps: list[tuple[str, str]] | None = None,
) -> EmailMessage:
    """The operators' alert of a failed run: what failed, why, the log before it, and what to do: `steps`, each a
    sentence and its command, or by default how to run the month again."""
    when = when or dt.datetime.now(dt.UTC)
    steps = steps or [
        ("When the cause is fixed, run the month again (finished tasks are not redone):", RERUN.format(month=month))
    ]
    text = [
        f"The BottleNeck run for {month} failed.",
        "",
        f"Month: {month}",
        f"Failed task: {task}",
        f"Time: {when.isoformat(timespec='seconds')}",
        "",
        "Error:",
        error,
        "",
        "Log lines before the failure:",
        *(log_lines or ["(none captured)"]),
        "",
        *(line for sentence, command in steps for line in (sentence, *(f"    {one}" for one in command.splitlines()))),
        "",
    ]
    page = [
        f"<h1>BottleNeck run for {html.escape(month)} failed</h1>",
        _html_table(["", ""], [["Month", month], ["Failed task", task], ["Time", when.isoformat(timespec="seconds")]]),
        "<h2>Error</h2>",
        f"<pre>{html.escape(error)}</pre>",
        "<h2>Log lines before the failure</h2>",
        f"<pre>{html.escape(chr(10).join(log_lines) or '(none captured)')}</pre>",
        "<h2>What to do</h2>",
        *(f"<p>{html.escape(sentence)}</p><pre>{html.escape(command)}</pre>" for sentence, command in steps),
    ]
    message = EmailMessage()
    first_line = (error.strip().splitlines() or [""])[0][:120]
    _headers(
        message,
        _subject(f"BottleNeck run {month} FAILED in {task.split('(')[0]}: {first_line}"),
        sender,
        receivers,
        when,
    )
    message.set_content("\n".join(text), cte="quoted-printable")
    message.add_alternative(_html_document(f"{month} failed", "\n".join(page)), subtype="html", cte="quoted-printable")
    return message
