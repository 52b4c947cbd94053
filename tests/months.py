"""Helpers to lay months in a lake and run the real `bottleneck-run` command against it."""

import datetime as dt
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bottleneck.demo import ERP_COLUMNS, LIAISON_COLUMNS, xlsx_bytes

BIN = Path(sys.executable).parent
SOURCES = ("erp", "web", "liaison")
# What the real month measures (MonthFigures' profile): its rows, products, units, turnover and shares.
REAL_PROFILE = {
    "erp_rows": 825,
    "web_rows": 1513,
    "liaison_rows": 825,
    "products": 714,
    "units": 2865,
    "turnover": 70568.6,
    "premium_share": 30 / 714,
    "erp_join_loss": 109 / 823,  # the 89 products not on the web, and 20 linked ones the web export lacks
    "liaison_join_loss": 20 / 734,
}


def raw_folder(lake: Path, month: str = "2020-08") -> Path:
    folder = lake / "raw" / month[:4] / month[5:]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def copy_month(source: Path, lake: Path, month: str = "2020-08") -> Path:
    folder = raw_folder(lake, month)
    for name in SOURCES:
        shutil.copy(source / f"{name}.xlsx", folder / f"{name}.xlsx")
    return folder


def write_tiny_month(lake: Path, erp_rows, web_rows, liaison_rows, month: str = "2020-08") -> Path:
    """A hand-made month: erp (product_id, onsale_web, price, stock_quantity, stock_status),
    web (sku, total_sales, post_type, post_title), liaison (product_id, id_web)."""
    folder = raw_folder(lake, month)
    created = dt.datetime.strptime(month, "%Y-%m")  # each month its own files, the same rows or not
    (folder / "erp.xlsx").write_bytes(xlsx_bytes(ERP_COLUMNS, erp_rows, created))
    (folder / "web.xlsx").write_bytes(xlsx_bytes(["sku", "total_sales", "post_type", "post_title"], web_rows, created))
    (folder / "liaison.xlsx").write_bytes(xlsx_bytes(LIAISON_COLUMNS, liaison_rows, created))
    return folder


def user_environment(lake: str | Path, cwd: Path, env: dict | None = None) -> dict:
    """A user's environment for the lake, none of this machine's AWS, Luigi or SMTP settings, no luigi.cfg."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "BOTTLENECK_", "LUIGI_", "SMTP_"))
    }
    environment.update({"BOTTLENECK_LAKE": str(lake), "LUIGI_CONFIG_PATH": str(cwd / "absent.cfg")})
    environment.update(env or {})
    return environment


def run(
    args: list[str],
    lake: str | Path,
    cwd: Path,
    env: dict | None = None,
    command: str = "bottleneck-run",
    timeout: float = 300,
    launcher: Sequence[str] = (),
) -> subprocess.CompletedProcess:
    """Runs the command as a user would, from a folder holding no luigi.cfg."""
    return subprocess.run(
        [*launcher, str(BIN / command), *args],
        cwd=cwd,
        env=user_environment(lake, cwd, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_month(lake, cwd, month: str = "2020-08", env: dict | None = None, task: str = "RunMonth"):
    return run([task, "--month", month, "--local-scheduler"], lake, cwd, env)


def files_under(folder: Path) -> dict[str, int]:
    """Every file below a folder, with its modification time in nanoseconds."""
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


# Runs a command and writes its peak RSS in kB. Linux carries the peak RSS of a process across exec, so a
# command forked from the test process would count the test's own memory: this small launcher forks it.
MEASURING_LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(
    args: list[str], lake: str | Path, cwd: Path, env: dict | None = None, timeout: float = 300
) -> tuple[subprocess.CompletedProcess, float]:
    """`run`, and the peak resident memory of the command's process in MB."""
    peak = cwd / "peak-rss-kb.txt"
    launcher = [sys.executable, "-c", MEASURING_LAUNCHER, str(peak)]
    result = run(args, lake, cwd, env, timeout=timeout, launcher=launcher)
    return result, int(peak.read_text()) / 1024


def changed_copy(source: Path, lake: Path, month: str, removed: dict, prices: dict) -> Path:
    """A month's exports copied into another month with the wines of `removed` ({product_id: sku}) taken
    out of all three exports and the erp prices of `prices` ({product_id: price}) changed."""
    import warnings

    import openpyxl

    folder = raw_folder(lake, month)
    keys = {
        "erp": ("product_id", set(map(str, removed))),
        "liaison": ("product_id", set(map(str, removed))),
        "web": ("sku", set(map(str, removed.values()))),
    }
    for name, (key, dropped) in keys.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl on the exports' unknown extensions
            book = openpyxl.load_workbook(source / f"{name}.xlsx")
        sheet = book.worksheets[0]
        header = [cell.value for cell in sheet[1]]
        key_column = header.index(key) + 1
        for row in range(sheet.max_row, 1, -1):
            if str(sheet.cell(row, key_column).value).removesuffix(".0") in dropped:
                sheet.delete_rows(row)
        if name == "erp":
            price_column = header.index("price") + 1
            for row in range(2, sheet.max_row + 1):
                if sheet.cell(row, key_column).value in prices:
                    sheet.cell(row, price_column).value = prices[sheet.cell(row, key_column).value]
        book.save(folder / f"{name}.xlsx")
    return folder


def corrected_export(data: bytes, column: str, correct) -> bytes:
    """The same export with the first positive value of `column` replaced by correct(value): a corrected export."""
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    position = [cell.value for cell in sheet[1]].index(column) + 1
    for row in range(2, sheet.max_row + 1):
        cell = sheet.cell(row=row, column=position)
        if isinstance(cell.value, (int, float)) and cell.value > 0:
            cell.value = correct(cell.value)
            break
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewritten_month(source: Path, lake: Path, month: str, cut: dict[str, int] | None = None) -> Path:
    """A month's exports written again as files of `month` (the same rows, other bytes), each source of `cut` keeping
    only its first rows: {"web": 700} is web.xlsx stopped by a filter or a page limit after 700 rows."""
    from python_calamine import CalamineWorkbook

    folder = raw_folder(lake, month)
    for name in SOURCES:
        rows: list[list[Any]] = [
            [None if cell == "" else cell for cell in row]
            for row in CalamineWorkbook.from_path(str(source / f"{name}.xlsx")).get_sheet_by_index(0).iter_rows()
        ]
        kept = rows[1:][: (cut or {}).get(name)]
        (folder / f"{name}.xlsx").write_bytes(xlsx_bytes(rows[0], kept, dt.datetime.strptime(month, "%Y-%m")))
    return folder
