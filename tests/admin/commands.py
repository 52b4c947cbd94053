"""What the admin tests share: the command as an operator runs it, and a corrected export."""

import datetime as dt

from tests.months import corrected_export, run

AUGUST = dt.date(2020, 8, 1)
REPORT_FILES = {
    "report.xlsx",
    "premium_wines.csv",
    "ordinary_wines.csv",
    "rejected_rows.csv",
    "quality.json",
    "email.json",
    "email.eml",
}
ERP_ROW = [1, 1, 10.0, 5, "instock"]


def admin_command(args, lake, cwd, env=None, timeout=300):
    return run(args, lake, cwd, env, command="bottleneck-admin", timeout=timeout)


def corrected_erp(data: bytes) -> bytes:
    """The same ERP export with the first positive price raised by 10.00: a corrected export."""
    return corrected_export(data, "price", lambda price: price + 10)
