"""Write a month N times larger than a real one, with the same quirks, and the figures it must give.

Copy k (0 <= k < N) of every row of the three exports is written with its ids moved out of the way
of the other copies: numeric ERP/liaison product_id by k * PRODUCT_STEP, numeric web sku and liaison
id_web by k * WEB_STEP (the same step on both sides, so the join still pairs the same rows), and a
non-numeric sku or id_web ('bon-cadeau-25-euros', '13127-1') gets the suffix "-x{k}". Copy 0 is the
source month unchanged. Everything else (attachments, empty rows, duplicated rows, null skus,
negative prices, liaison rows without id_web) is copied as it is, so every quirk occurs N times.

The expected figures are computed from the source month with pandas, independently of the pipeline
and of the baseline, and scaled in closed form:
  products, turnover, premium and ordinary of N copies = N x those of one copy, because each copy
  is the same multiset of (price, total_sales) and the mean price is unchanged. Only the sample
  standard deviation moves: over N*n prices it is std_1 * sqrt(N(n-1) / (Nn-1)), so every z-score
  grows by sqrt((Nn-1) / (N(n-1))) <= sqrt(n/(n-1)) (1.0007 for n = 714). A wine flips to premium
  only if its one-copy z-score lies in (2 / that factor, 2]; `expected_figures` counts premium with
  the exact factor for N (no assumption), and reports the closest z-scores on each side of the
  threshold. On the real month they are 1.9527 and 2.0103, so premium is exactly 30 N for every N.

Usage: python -m benchmarks.scale_month N [--seed DIR] [--out DIR]   (prints the folder and figures)
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED_MONTH = Path(os.environ.get("BOTTLENECK_SEED_MONTH", REPO.parent / "shared" / "data" / "seed-month"))
OUT = REPO / "benchmarks" / "out"
SOURCES = ("erp", "web", "liaison")
# Bump when the generated files change, so cached months are rebuilt.
GENERATOR_VERSION = 1
PREMIUM_ZSCORE = 2.0
EXCEL_MAX_ROWS = 1_048_576

# Which columns hold ids, and which id space each lives in.
ID_COLUMNS = {
    "erp": {"product_id": "product"},
    "liaison": {"product_id": "product", "id_web": "web"},
    "web": {"sku": "web"},
}
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"


def read_rows(path: Path) -> tuple[list[str], list[list]]:
    """Header and data rows of the first sheet, as calamine gives them ('' for an empty cell)."""
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return [str(name) for name in rows[0]], rows[1:]


def _numeric_id(value) -> int | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def id_steps(sheets: dict[str, tuple[list[str], list[list]]]) -> dict[str, int]:
    """A power of ten above every numeric id of each id space, so no two copies share an id."""
    largest = {"product": 0, "web": 0}
    for source, columns in ID_COLUMNS.items():
        header, rows = sheets[source]
        for column, space in columns.items():
            i = header.index(column)
            for row in rows:
                number = _numeric_id(row[i])
                if number is not None:
                    largest[space] = max(largest[space], number)
    return {space: 10 ** (len(str(value)) + 1) for space, value in largest.items()}


def shifted_id(value, k: int, step: int):
    """The id of copy k: numbers moved by k * step (same cell type), other text suffixed, empty kept."""
    if k == 0 or value == "" or value is None:
        return value
    number = _numeric_id(value)
    if number is None:
        return f"{value}-x{k}"
    if isinstance(value, str):
        return str(number + k * step)
    return float(number + k * step)


def write_scaled(header: list[str], rows: list[list], id_steps_by_column: dict[int, int], n: int, path: Path) -> None:
    """Write n copies of rows to path, streaming (xlsxwriter constant_memory: one row in memory)."""
    import xlsxwriter

    tmp = path.with_suffix(".tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    sheet = book.add_worksheet("Sheet1")
    date_format = book.add_format({"num_format": DATE_FORMAT})
    for col, name in enumerate(header):
        sheet.write_string(0, col, name)
    write_number, write_string, write_datetime = sheet.write_number, sheet.write_string, sheet.write_datetime
    # Pre-sort the cells of one copy by type, so the hot loop does no type dispatch.
    templates = []
    for row in rows:
        cells = []
        for col, value in enumerate(row):
            if value == "" or value is None:
                continue
            if isinstance(value, dt.datetime):
                kind = "date"
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                kind = "number"
            else:
                kind, value = "string", str(value)
            cells.append((col, kind, value, id_steps_by_column.get(col)))
        templates.append(cells)
    out_row = 1
    for k in range(n):
        for cells in templates:
            for col, kind, value, step in cells:
                if step is not None:
                    value = shifted_id(value, k, step)
                    kind = "string" if isinstance(value, str) else kind
                if kind == "number":
                    write_number(out_row, col, value)
                elif kind == "string":
                    write_string(out_row, col, value)
                else:
                    write_datetime(out_row, col, value, date_format)
            out_row += 1
    book.close()
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def base_figures(seed: Path = SEED_MONTH) -> dict:
    """The month's figures and price z-scores under the reference rules, computed with pandas alone."""
    import pandas as pd

    erp = pd.read_excel(seed / "erp.xlsx", engine="calamine")
    web = pd.read_excel(seed / "web.xlsx", engine="calamine")
    liaison = pd.read_excel(seed / "liaison.xlsx", engine="calamine")

    def as_text(series: pd.Series) -> pd.Series:
        # Ids compare as text: a whole float (calamine reads 15298 as 15298.0) is written without ".0".
        return series.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))

    erp = erp[erp["price"] > 0]
    web = web[(web["post_type"] == "product") & web["sku"].notna()].drop_duplicates()
    web = web.assign(sku=as_text(web["sku"]))
    liaison = liaison[liaison["id_web"].notna()]
    liaison = liaison.assign(id_web=as_text(liaison["id_web"]))
    products = erp.merge(liaison, on="product_id").merge(web, left_on="id_web", right_on="sku")
    revenue = products["price"] * products["total_sales"]
    price = products["price"].astype(float)
    std = price.std(ddof=1)
    zscores = ((price - price.mean()) / std).tolist()
    return {
        "products": len(products),
        "turnover": float(revenue.sum()),
        "zscores": zscores,
    }


def expected_figures(n: int, base: dict) -> dict:
    """Figures of the month scaled n times, from the source month's (see the module docstring)."""
    count = len(base["zscores"])
    factor = math.sqrt((n * count - 1) / (n * (count - 1))) if count > 1 else 1.0
    premium_one_copy = sum(1 for z in base["zscores"] if z * factor > PREMIUM_ZSCORE)
    below = [z for z in base["zscores"] if z <= PREMIUM_ZSCORE]
    above = [z for z in base["zscores"] if z > PREMIUM_ZSCORE]
    return {
        "scale": n,
        "products": n * base["products"],
        "turnover": round(n * base["turnover"], 2),
        "premium": n * premium_one_copy,
        "ordinary": n * (base["products"] - premium_one_copy),
        "input_rows": {source: n * rows for source, rows in base["input_rows"].items()},
        "zscore_factor": factor,
        "closest_zscores_to_threshold": {
            "below": max(below) if below else None,
            "above": min(above) if above else None,
            "flip_band": [PREMIUM_ZSCORE / factor, PREMIUM_ZSCORE],
        },
    }


def scaled_month(n: int, seed: Path = SEED_MONTH, out: Path = OUT) -> tuple[Path, dict]:
    """The folder holding the month scaled n times (generated once, cached) and its expected figures."""
    seed = Path(seed)
    folder = Path(out) / f"x{n}"
    marker = folder / "expected.json"
    fingerprint = {
        "generator_version": GENERATOR_VERSION,
        "seed_sha256": {source: _sha256(seed / f"{source}.xlsx") for source in SOURCES},
    }
    if marker.exists():
        expected = json.loads(marker.read_text())
        if expected.get("fingerprint") == fingerprint and all((folder / f"{s}.xlsx").exists() for s in SOURCES):
            return folder, expected
    sheets = {source: read_rows(seed / f"{source}.xlsx") for source in SOURCES}
    largest = max(len(rows) for _, rows in sheets.values())
    if n * largest + 1 > EXCEL_MAX_ROWS:
        raise ValueError(
            f"scale {n} needs {n * largest + 1:,} rows in one sheet; an xlsx sheet holds {EXCEL_MAX_ROWS:,} "
            f"(largest scale: {(EXCEL_MAX_ROWS - 1) // largest})"
        )
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    steps = id_steps(sheets)
    for source in SOURCES:
        header, rows = sheets[source]
        by_column = {header.index(column): steps[space] for column, space in ID_COLUMNS[source].items()}
        write_scaled(header, rows, by_column, n, folder / f"{source}.xlsx")
    base = base_figures(seed)
    base["input_rows"] = {source: len(sheets[source][1]) for source in SOURCES}
    expected = expected_figures(n, base)
    expected["id_steps"] = steps
    expected["fingerprint"] = fingerprint
    # Written last: its presence says the folder is complete.
    marker.write_text(json.dumps(expected, indent=2) + "\n")
    return folder, expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="how many copies of the month")
    parser.add_argument("--seed", type=Path, default=SEED_MONTH, help="folder of the source month's xlsx files")
    parser.add_argument("--out", type=Path, default=OUT, help="cache folder (a subfolder x{N} per scale)")
    args = parser.parse_args(argv)
    folder, expected = scaled_month(args.n, args.seed, args.out)
    print(folder)
    print(json.dumps({k: v for k, v in expected.items() if k != "fingerprint"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
