"""`bottleneck-admin`: the operator's commands: each month's status, re-processing, a check of the setup, a release.

    bottleneck-admin status [--from YYYY-MM] [--to YYYY-MM] [--json]
    bottleneck-admin reprocess --month YYYY-MM --reason TEXT
    bottleneck-admin check
    bottleneck-admin accept --month YYYY-MM --check KEY [--check KEY ...] --reason TEXT

Status and re-processing read and write the lake alone (no scheduler needed); the logic lives in plain
functions over the lake, one module a command, so that they work the same on S3 and on a local folder.
"""

import argparse
import datetime as dt
import sys

import botocore.exceptions

from bottleneck import config, mail
from bottleneck.admin.accept import accept_command
from bottleneck.admin.check import check_command
from bottleneck.admin.reprocess import reprocess_command
from bottleneck.admin.status import status_command
from bottleneck.errors import LakeError, PipelineError
from bottleneck.parameters import parsed_month


def month_argument(text: str) -> dt.date:
    try:
        return parsed_month(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="bottleneck-admin", description=(__doc__ or "").split("\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    status = commands.add_parser(
        "status", help="one line per month, read from the lake; exit 1 when a month is neither done nor running"
    )
    status.add_argument(
        "--from", dest="first", type=month_argument, metavar="YYYY-MM", help="first month (default: the lake's first)"
    )
    status.add_argument(
        "--to", dest="last", type=month_argument, metavar="YYYY-MM", help="last month (default: the lake's last)"
    )
    status.add_argument("--json", action="store_true", help="one JSON list, for machines")
    status.set_defaults(handler=status_command)
    again = commands.add_parser(
        "reprocess", help="set a month's reports aside under superseded/, clear its staging and work, run it again"
    )
    again.add_argument("--month", type=month_argument, required=True, metavar="YYYY-MM", help="YYYY-MM")
    again.add_argument("--reason", required=True, help="why (kept in superseded/YYYY-MM/<time>/reprocess.json)")
    again.set_defaults(handler=reprocess_command)
    check = commands.add_parser(
        "check", help="configuration and connectivity: lake, locks, delivery, SMTP, scheduler, pushgateway"
    )
    check.set_defaults(handler=check_command)
    release = commands.add_parser(
        "accept", help="release a month held by a plausibility check (a real closing-down sale, a new catalogue)"
    )
    release.add_argument("--month", type=month_argument, required=True, metavar="YYYY-MM", help="YYYY-MM")
    release.add_argument(
        "--check", action="append", required=True, metavar="KEY", help="a held check's key (repeat for several)"
    )
    release.add_argument("--reason", required=True, help="why the month is right as it is (kept in accepted/YYYY/MM/)")
    release.set_defaults(handler=accept_command)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        code = args.handler(args)
    except PipelineError as error:
        print(f"bottleneck-admin {args.command}: {mail.smtp_settings().redact(str(error))}", file=sys.stderr)
        code = error.exit_code
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError) as error:
        # A lake refused (no such bucket, no permission) or a local folder not usable: unusable, exit 9.
        print(
            f"bottleneck-admin {args.command}: lake {config.lake_url()} unusable: {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        code = LakeError.exit_code
    sys.exit(code)
