"""bottleneck.mail: composing the emails, and sending them to a real SMTP server process on loopback."""

import datetime as dt
import email
import email.policy
import json
import smtplib
import ssl
import threading
import time
from typing import Any

import pytest

from bottleneck import lake, mail
from bottleneck.compare import comparison
from bottleneck.errors import DeliveryError
from tests.conftest import SMTP_LOGIN, SMTP_PASSWORD

MONTH = dt.date(2024, 5, 1)
CHECKS = [
    {"name": "product_id unique", "level": "error", "status": "passed", "observed": 0, "expected": 0, "detail": ""},
    {
        "name": "no nulls in product_id, sku, price, total_sales",
        "level": "error",
        "status": "passed",
        "observed": {"price": 0, "product_id": 0},
        "expected": {"price": 0, "product_id": 0},
        "detail": "",
    },
    {
        "name": "no negative stock in erp.xlsx",
        "level": "warning",
        "status": "warning",
        "observed": 2,
        "expected": 0,
        "detail": "product_id with negative stock: <b>Château Lagrange</b> & Fils",
    },
]
FUNNEL = {
    "erp": [{"stage": "raw", "rows": 825}, {"stage": "price must be above 0", "rows": 823}],
    "web": [{"stage": "raw", "rows": 1428}, {"stage": "joined", "rows": 573}],
    "products": 573,
}
CURRENT = {"month": "2024-05", "products": 573, "premium": 30, "ordinary": 543, "units": 2865, "turnover": 70568.6}
PREVIOUS = {"month": "2024-04", "products": 570, "premium": 29, "ordinary": 541, "units": 2800, "turnover": 69334.1}
EARLIER: list[dict[str, Any]] = [
    {"month": "2024-03", "figures": None, "reason": "2024-03: no raw exports in the lake"},
    {"month": "2024-04", "figures": PREVIOUS, "reason": None},
]
QUALITY = {
    **{key: CURRENT[key] for key in ("month", "products", "premium", "ordinary", "turnover")},
    "checks": CHECKS,
    "funnel": FUNNEL,
    **comparison(CURRENT, EARLIER),
}
WINES = [
    {"product_id": 4000 + n, "wine": f"Wine {n}", "category": "ordinary", "revenue": float(n * 10)}
    for n in range(1, 15)
] + [
    {"product_id": 4352, "wine": "Egly-Ouriet <Grand> Cru & Fils", "category": "premium", "revenue": 1125.0},
    {"product_id": 4500, "wine": "Cognac Frapin VIP XO", "category": "premium", "revenue": 0.0},
]
CHANGES = [
    {
        "change": "new",
        "product_id": "4500",
        "sku": "15000",
        "wine": "Cognac Frapin VIP XO",
        "before": "",
        "after": "176.00",
    },
    {"change": "new", "product_id": "4014", "sku": "15001", "wine": "Wine 14", "before": "", "after": "12.00"},
    {
        "change": "price",
        "product_id": "4352",
        "sku": "11668",
        "wine": "Egly-Ouriet <Grand> Cru & Fils",
        "before": "84.00",
        "after": "88.40",
    },
    {
        "change": "premium",
        "product_id": "4352",
        "sku": "11668",
        "wine": "Egly-Ouriet <Grand> Cru & Fils",
        "before": "ordinary",
        "after": "premium",
    },
]
ATTACHMENTS = {
    "report.xlsx": bytes(range(256)) * 4,  # every byte value, as a binary workbook has
    "premium_wines.csv": "product_id;name;price\r\n4001;Château d'Yquem;320.00\r\n".encode(),
    "ordinary_wines.csv": b"product_id;name;price\n4002;Muscadet;9.90\n\n\xe9\n",  # LF, blank line, latin-1 byte
}


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(bytes(message), policy=email.policy.default)


def bodies(message) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())


def attachments_of(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def report_message(receivers=("pm@bottleneck.test",), quality=QUALITY):
    return mail.report_email(
        quality, ATTACHMENTS, sender="reports@bottleneck.test", receivers=list(receivers), wines=WINES, changes=CHANGES
    )


# ------------------------------------------------------------------------------------------------- composing


def test_money_has_thousands_separators_cents_and_euro_sign():
    assert mail.money(70568.6) == "70,568.60 €"
    assert mail.money(0.1 + 0.2) == "0.30 €"
    assert mail.money(1234567) == "1,234,567.00 €"


def test_report_email_leads_with_what_readers_act_on_then_changes_year_and_gate():
    message = parsed(report_message())
    assert "2024-05" in message["Subject"]
    assert message["To"] == "pm@bottleneck.test"
    text, page = bodies(message)
    for body in (text, page):
        order = [
            body.index(title)
            for title in (
                "Compared with 2024-04.",
                "Top 10 wines by revenue",
                "New premium wines",
                "Warnings",
                "Changes since 2024-04",
                "A year at a glance",
                "Quality gate",
                "Rows through the pipeline",
            )
        ]
        assert order == sorted(order)
        for figure in (
            "573",
            "+3",
            "+0.5 %",
            "70,568.60 €",
            "69,334.10 €",
            "+1,234.50 €",
            "+1.8 %",
            "2 products have negative stock:",
            "2 checks passed, 1 warning.",
            "2 new wines, 1 price changes",
            "price 0, product_id 0",
            "rows in the export",
            "1,428",
            "no raw exports in the lake",
        ):
            assert figure in body, figure
    assert "Figure          This month   Previous month (2024-04)  Change       Change %" in text
    assert "Turnover        70,568.60 €  69,334.10 €               +1,234.50 €  +1.8 %" in text
    top = text[text.index("Top 10 wines") : text.index("New premium wines")]
    assert top.index("1   Egly-Ouriet <Grand> Cru & Fils") < top.index("2   Wine 14")
    assert "Wine 4 " not in top
    assert "- Egly-Ouriet <Grand> Cru & Fils (4352): became premium, ordinary → premium" in text
    assert "- Cognac Frapin VIP XO (4500): new this month, 176.00 €" in text
    assert "Wine 14 (4014)" not in text[text.index("New premium wines") : text.index("Warnings")]


def test_report_email_shows_no_json_to_its_readers():
    text, page = bodies(parsed(report_message()))
    for body in (text, page):
        assert "{" not in body
        assert "}" not in body
        assert '"stage"' not in body


def test_report_email_files_arrive_unchanged():
    message = parsed(report_message())
    assert attachments_of(message) == ATTACHMENTS
    types = {part.get_filename(): part.get_content_type() for part in message.iter_attachments()}
    assert types["report.xlsx"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert types["premium_wines.csv"] == "text/csv"


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 114, 1000])
def test_attachments_are_the_parts_email_itself_makes_and_the_eml_is_the_message(size):
    files = {"report.xlsx": (bytes(range(256)) * 4)[:size], "premium_wines.csv": ATTACHMENTS["premium_wines.csv"]}
    message = mail.report_email(QUALITY, files, sender="reports@bottleneck.test", receivers=["pm@bottleneck.test"])
    for part in message.iter_attachments():
        expected = email.message.EmailMessage()
        expected.set_content(
            files[part.get_filename()],
            part.get_content_maintype(),
            part.get_content_subtype(),
            disposition="attachment",
            filename=part.get_filename(),
        )
        assert bytes(part) == bytes(expected)
    assert mail.eml_bytes(message) == bytes(message)


def test_the_eml_keeps_every_line_ending_as_email_writes_it():
    message = email.message_from_bytes(b"Subject: x\r\n\r\nCR\rCRLF\r\nLF\nend", policy=email.policy.default)
    assert mail.eml_bytes(message) == bytes(message)


def test_without_a_previous_month_the_email_says_why():
    quality = {**QUALITY, **comparison(CURRENT, EARLIER[:1])}
    text, _page = bodies(parsed(report_message(quality=quality)))
    assert "No comparison with the month before: 2024-03: no raw exports in the lake." in text
    assert "No comparison, so no wine can be called new." in text
    assert "Products        573          —               —       —" in text


def test_a_record_made_before_months_were_compared_still_reads():
    quality = {
        "month": "2024-05",
        "products": 573,
        "premium": 30,
        "ordinary": 543,
        "turnover": 70568.59999,
        "checks": CHECKS,
    }
    text, _ = bodies(parsed(mail.report_email(quality, {}, sender="a@b.test", receivers=["c@d.test"])))
    assert "Turnover        70,568.60 €" in text
    assert "No comparison with the month before." in text


def test_html_escapes_names_and_details():
    _, page = bodies(parsed(report_message()))
    assert "<b>Château" not in page
    assert "<Grand>" not in page
    assert "&lt;b&gt;Château Lagrange&lt;/b&gt; &amp; Fils" in page
    assert "Egly-Ouriet &lt;Grand&gt; Cru &amp; Fils" in page


def test_report_without_warnings_says_so():
    quality = {**QUALITY, "checks": QUALITY["checks"][:1]}
    message = parsed(mail.report_email(quality, {}, sender="a@b.test", receivers=["c@d.test"]))
    assert "No warnings." in bodies(message)[0]
    assert "warning" not in message["Subject"]


def test_the_month_email_is_made_from_the_stored_files():
    reports = {
        "quality.json": json.dumps(QUALITY).encode(),
        "premium_wines.csv": b"product_id,sku,post_title,price,total_sales,revenue\r\n4352,1,'=Cru,88.40,2,176.80\r\n",
        "ordinary_wines.csv": b"product_id,sku,post_title,price,total_sales,revenue\r\n4001,2,Muscadet,9.90,1,9.90\r\n",
        "changes.csv": b"change,product_id,sku,wine,before,after\r\nnew,4352,1,'=Cru,,88.40\r\n",
        "report.xlsx": b"PK",
        "rejected_rows.csv": b"",
    }
    message = parsed(mail.month_report_email(reports, sender="a@b.test", receivers=["c@d.test"]))
    text, _ = bodies(message)
    assert "1  =Cru" in text
    assert "2  Muscadet" in text
    assert "- =Cru (4352): new this month, 88.40 €" in text
    assert set(attachments_of(message)) == {"report.xlsx", "premium_wines.csv", "ordinary_wines.csv", "changes.csv"}


def test_the_month_emails_top_wines_are_the_top_of_every_row_of_both_csvs():
    header = b"product_id,sku,post_title,price,total_sales,revenue\r\n"
    ordinary = [(4100 + n, f"Ordinary {n}", [5.0, 40.0, 40.0, 12.5, 99.9][n % 5] * (n % 3 + 1)) for n in range(30)]
    premium = [(4900, "Premium low", 1.0), (4901, "Premium high", 150.0)]

    def rows(wines):
        return header + b"".join(f"{pid},1,{title},1.00,1,{revenue:.2f}\r\n".encode() for pid, title, revenue in wines)

    reports = {
        "quality.json": json.dumps(QUALITY).encode(),
        "premium_wines.csv": rows(premium),
        "ordinary_wines.csv": rows(ordinary),
        "changes.csv": b"change,product_id,sku,wine,before,after\r\n",
        "report.xlsx": b"PK",
    }
    text, _ = bodies(parsed(mail.month_report_email(reports, sender="a@b.test", receivers=["c@d.test"])))
    top = text[text.index("Top 10 wines") : text.index("New premium wines")].splitlines()[2:12]
    expected = sorted(ordinary + premium, key=lambda wine: (-round(wine[2], 2), wine[0]))[:10]
    assert [line.split("  ")[1].strip() for line in top] == [title for _, title, _ in expected]


def test_alert_names_month_task_error_log_and_rerun_command():
    message = parsed(
        mail.alert_email(
            month="2024-05",
            task="QualityReport(month=2024-05)",
            error="QualityGateError: <script>x</script> failed",
            log_lines=["INFO luigi: running StagedErp", "ERROR luigi: failed QualityReport"],
            sender="ops@bottleneck.test",
            receivers=["oncall@bottleneck.test"],
        )
    )
    assert "2024-05" in message["Subject"]
    assert "QualityReport" in message["Subject"]
    text, page = bodies(message)
    for body in (text, page):
        assert "QualityReport(month=2024-05)" in body
        assert "bottleneck-run RunMonth --month 2024-05" in body
        assert "running StagedErp" in body
    assert "QualityGateError: <script>x</script> failed" in text
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_addresses_reads_a_comma_list():
    assert mail.addresses("a@x.test, Ops <b@x.test>,") == ["a@x.test", "b@x.test"]
    assert mail.addresses("") == []


# ------------------------------------------------------------------------------------------------ settings


def test_without_smtp_host_the_embedded_default_writes_eml(luigi_options, local_lake):
    assert not mail.smtp_host_configured()
    assert mail.smtp_settings().host == ""
    message = report_message()
    record = mail.deliver(message, ["pm@bottleneck.test"], MONTH, "email_eml")
    stored = lake.read_bytes(lake.target(MONTH, "email_eml"))
    assert record["transport"] == "eml"
    assert record["path"] == lake.target(MONTH, "email_eml").path
    assert attachments_of(email.message_from_bytes(stored, policy=email.policy.default)) == ATTACHMENTS


def test_settings_come_from_luigi_smtp_section_with_password_from_environment(luigi_options, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    for option, value in {
        "host": "mail.bottleneck.test",
        "port": "587",
        "username": SMTP_LOGIN,
        "password": "${SMTP_PASSWORD}",
        "timeout": "7",
    }.items():
        luigi_options("smtp", option, value)
    luigi_options("bottleneck", "smtp_ca_bundle", "/etc/ssl/corp-ca.pem")
    luigi_options("bottleneck", "smtp_retry_seconds", "42")
    settings = mail.smtp_settings()
    assert (settings.host, settings.port, settings.timeout, settings.password) == (
        "mail.bottleneck.test",
        587,
        7.0,
        SMTP_PASSWORD,
    )
    assert (settings.ca_bundle, settings.retry_seconds) == ("/etc/ssl/corp-ca.pem", 42.0)
    assert SMTP_PASSWORD not in repr(settings)
    assert settings.redact(f"said {SMTP_PASSWORD}!") == "said ********!"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError("timed out"), True),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (smtplib.SMTPResponseException(421, b"try later"), True),
        (smtplib.SMTPDataError(451, b"local error"), True),
        (smtplib.SMTPRecipientsRefused({"a@x.test": (450, b"busy")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x.test": (450, b"busy"), "b@x.test": (550, b"no such user")}), False),
        (smtplib.SMTPDataError(554, b"refused"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPNotSupportedError("no AUTH"), False),
        (ssl.SSLCertVerificationError("untrusted"), False),
    ],
)
def test_transient_failures_are_told_from_permanent_ones(error, transient):
    assert mail.is_transient(error) is transient


# ----------------------------------------------------------------------------------------- real SMTP server


@pytest.mark.parametrize(("mode", "login"), [("plain", False), ("starttls", True), ("tls", True)])
def test_sends_in_every_mode_and_the_message_arrives_whole(smtp_server, mode, login):
    server = smtp_server.get(mode, login=login)
    settings = mail.SmtpSettings(**server.settings_kwargs())
    message = report_message(["pm@bottleneck.test", "cfo@bottleneck.test"])
    refused = mail.send(message, ["pm@bottleneck.test", "cfo@bottleneck.test"], settings)
    assert refused == {}
    [(received, envelope)] = server.received()
    assert envelope["rcpt_tos"] == ["pm@bottleneck.test", "cfo@bottleneck.test"]
    assert envelope["login"] == (SMTP_LOGIN if login else None)
    assert received["Message-ID"] == message["Message-ID"]
    assert attachments_of(received) == ATTACHMENTS
    assert "70,568.60 €" in bodies(received)[0]
    assert SMTP_PASSWORD.encode() not in server.raw()[0]


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_an_untrusted_certificate_fails_at_once_naming_the_ca_option(smtp_server, mode):
    server = smtp_server.get(mode, login=True)
    settings = mail.SmtpSettings(**{**server.settings_kwargs(), "ca_bundle": ""})
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"not trusted.*smtp_ca_bundle"):
        mail.send(report_message(), ["pm@bottleneck.test"], settings)
    assert time.monotonic() - started < 5
    assert server.received() == []


def test_the_host_name_is_verified(smtp_server):
    server = smtp_server.get("tls", login=True)
    settings = mail.SmtpSettings(**{**server.settings_kwargs(), "host": "127.0.0.1"})  # not on the certificate
    with pytest.raises(DeliveryError, match="not trusted"):
        mail.send(report_message(), ["pm@bottleneck.test"], settings)


def test_starttls_is_required_unless_no_tls_is_set(smtp_server):
    server = smtp_server.get("plain")
    settings = mail.SmtpSettings(**{**server.settings_kwargs(), "no_tls": False})
    with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        mail.send(report_message(), ["pm@bottleneck.test"], settings)
    assert server.received() == []


def test_a_5xx_rejection_fails_at_once_with_the_reply(smtp_server):
    server = smtp_server.get("starttls", login=True)
    server.reject("554 5.7.1 Message refused by policy")
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"permanent failure, not retried.*554 5\.7\.1 Message refused by policy"):
        mail.send(report_message(), ["pm@bottleneck.test"], mail.SmtpSettings(**server.settings_kwargs()))
    assert time.monotonic() - started < 5


def test_a_refused_login_fails_at_once_without_showing_the_password(smtp_server, caplog):
    server = smtp_server.get("starttls", login=True)
    wrong = "wrong-" + SMTP_PASSWORD
    settings = mail.SmtpSettings(**{**server.settings_kwargs(), "password": wrong})
    with pytest.raises(DeliveryError, match="refused the login") as failure:
        mail.send(report_message(), ["pm@bottleneck.test"], settings)
    assert wrong not in str(failure.value)
    assert SMTP_LOGIN not in str(failure.value)
    assert failure.value.__cause__ is None
    assert failure.value.__context__ is not None
    assert wrong not in caplog.text
    assert server.received() == []


def test_server_down_then_back_within_the_retry_window_still_delivers(smtp_server, caplog):
    server = smtp_server.get("tls", login=True)
    server.stop()
    restart = threading.Timer(3.0, server.start)
    restart.start()
    try:
        mail.send(report_message(), ["pm@bottleneck.test"], mail.SmtpSettings(**server.settings_kwargs()))
    finally:
        restart.join()
    assert len(server.received()) == 1
    assert "refused the connection" in caplog.text
    assert "retrying" in caplog.text
    assert SMTP_PASSWORD not in caplog.text


def test_a_server_that_stays_down_is_given_up_after_the_retry_window(smtp_server):
    server = smtp_server.get("plain")
    server.stop()
    settings = mail.SmtpSettings(**{**server.settings_kwargs(), "retry_seconds": 2.0})
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"gave up after \d+ attempts.*refused the connection"):
        mail.send(report_message(), ["pm@bottleneck.test"], settings)
    assert time.monotonic() - started < 10
    server.start()


def test_no_recipients_is_a_clear_error():
    with pytest.raises(DeliveryError, match=r"no recipients: set \[email\] receiver"):
        mail.send(report_message(), [], mail.SmtpSettings(host="localhost"))


def test_the_eml_goes_to_an_s3_lake_too(s3_env, s3_server, monkeypatch):
    s3_server.client().create_bucket(Bucket="mail-lake")
    monkeypatch.setenv("BOTTLENECK_LAKE", "s3://mail-lake/prod")
    record = mail.deliver(report_message(), ["pm@bottleneck.test"], MONTH, "email_eml", mail.SmtpSettings(host=""))
    assert record["path"] == "s3://mail-lake/prod/reports/2024/05/email.eml"
    body = s3_server.client().get_object(Bucket="mail-lake", Key="prod/reports/2024/05/email.eml")["Body"].read()
    assert attachments_of(email.message_from_bytes(body, policy=email.policy.default)) == ATTACHMENTS
