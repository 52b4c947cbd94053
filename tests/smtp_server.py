"""A loopback SMTP server process for the tests: aiosmtpd in plain, STARTTLS or implicit TLS mode.

Every accepted message is written to --maildir as `<n>.eml` (the bytes as received) with a
`<n>.json` beside it (envelope sender, recipients, authenticated login). While a file named
`reject` exists in --control, every message is refused with the SMTP reply it holds (e.g.
"554 5.7.1 refused by policy"), so a test can switch a permanent rejection on and off.

    python tests/smtp_server.py --port P --mode plain|starttls|tls --maildir DIR --control DIR
        [--cert CERT --key KEY] [--login USER]   (the password is read from SMTP_SERVER_PASSWORD)
"""

import argparse
import itertools
import json
import os
import signal
import ssl
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Mailbox:
    def __init__(self, maildir: Path, control: Path):
        self.maildir = maildir
        self.control = control
        existing = [int(p.stem) for p in maildir.glob("*.eml") if p.stem.isdigit()]
        self.numbers = itertools.count(max(existing, default=0) + 1)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        reject = self.control / "reject"
        if reject.exists():
            return reject.read_text().strip()
        number = next(self.numbers)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "login": session.auth_data.login.decode() if session.authenticated else None,
        }
        for suffix, data in ((".json", json.dumps(record).encode()), (".eml", envelope.original_content)):
            partial = self.maildir / f".{number}{suffix}.partial"
            partial.write_bytes(data)
            partial.rename(self.maildir / f"{number}{suffix}")
        return "250 2.0.0 Message accepted"


def authenticator(login: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == login
            and (auth_data.password.decode() == password)
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("plain", "starttls", "tls"), default="plain")
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--control", type=Path, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--login")
    args = parser.parse_args()

    kwargs: dict[str, Any] = {}
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.mode == "tls":
            kwargs["ssl_context"] = context
        else:
            kwargs.update(tls_context=context, require_starttls=True)
    if args.login:
        kwargs.update(
            authenticator=authenticator(args.login, os.environ["SMTP_SERVER_PASSWORD"]),
            auth_required=True,
            # aiosmtpd counts only STARTTLS as TLS; on an implicit-TLS port every session is encrypted.
            auth_require_tls=args.mode != "tls",
        )
    controller = Controller(
        Mailbox(args.maildir, args.control),
        hostname="127.0.0.1",
        port=args.port,
        server_hostname="localhost",
        **kwargs,
    )
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
