"""Mutation run: breaks the cleaning rules, the classification and the gate one way at a time, and shows the tests
catch every break (a mutant "killed"). A surviving mutant means a fault the tests would let through.

    .venv/bin/python -m tests.mutation.run            # every mutant; exit 1 unless all are killed
    .venv/bin/python -m tests.mutation.run --list     # the mutants
    .venv/bin/python -m tests.mutation.run 3 7        # some of them

Each mutant is applied to a copy of the package and its tests in a temporary folder (the working tree is
never touched), which shadows the installed package through PYTHONPATH, also in the `bottleneck-run`
processes the tests start. Its tests run in two stages, the unit tests first, then the whole task tree
on the real month (the fault catalogue and the acceptance test) for a mutant the unit tests missed.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT = [
    "tests/test_reconcile.py",
    "tests/test_classify.py",
    "tests/test_quality.py",
    "tests/test_staging.py",
    "tests/test_deliverables.py",
    "tests/test_history.py",
    "tests/test_figures.py",
    "tests/test_releases.py",
    "tests/test_signals.py",
    "tests/admin/test_accept.py",
    # The rules Excel enforces on the list sheets' hand-rendered XML (the other list tests use lenient readers).
    "tests/test_list_sheets.py::test_every_sheet_keeps_the_rules_excel_enforces_which_lenient_readers_forgive",
]
TASK_TREE = ["tests/faults", "tests/test_acceptance.py"]
# Compares the rendered SQL text: it would "kill" every SQL mutant without showing that behaviour is tested.
TEXT_ONLY = ["tests/test_reconcile.py::test_each_rule_is_rendered_from_its_declaration"]


@dataclass(frozen=True)
class Mutant:
    file: str
    old: str
    new: str
    what: str


MUTANTS = [
    # The cleaning rules: their SQL, and their declarations (shared by both engines: the tests must catch those).
    Mutant(
        "bottleneck/sql/keep_where.sql",
        "WHERE {condition}",
        "WHERE {condition} OR TRUE",
        "a cleaning rule's WHERE keeps every row",
    ),
    Mutant("bottleneck/sql/first_of_duplicates.sql", ") = 1", ") >= 1", "deduplication removed"),
    Mutant(
        "bottleneck/sql/first_of_duplicates.sql",
        "ORDER BY source_row",
        "ORDER BY source_row DESC",
        "deduplication keeps the last row instead of the first",
    ),
    Mutant(
        "bottleneck/reconcile.py",
        'Condition("price", ">", 0)',
        'Condition("price", ">", -10)',
        "price rule: > 0 becomes > -10",
    ),
    Mutant(
        "bottleneck/reconcile.py",
        'distinct_on=("product_id", "onsale_web", "price", "stock_quantity", "stock_status")',
        'distinct_on=("product_id", "onsale_web", "stock_quantity", "stock_status")',
        "a deduplication key dropped (erp price)",
    ),
    Mutant(
        "bottleneck/reconcile.py",
        'Condition("post_type", "=", "product")',
        'Condition("post_type", "is present")',
        "web rule: post_type = 'product' becomes any post_type",
    ),
    Mutant(
        "bottleneck/sql/products.sql",
        "JOIN web_clean AS web ON {liaison_to_web}",
        "LEFT JOIN web_clean AS web ON {liaison_to_web}",
        "inner join on web becomes a left join",
    ),
    Mutant(
        "bottleneck/sql/products.sql",
        "JOIN liaison_clean AS liaison ON {erp_to_liaison}",
        "JOIN liaison_clean AS liaison ON erp.source_row = liaison.source_row",
        "join key swapped (row for product_id)",
    ),
    Mutant(
        "bottleneck/sql/products.sql",
        "CAST(erp.price AS DECIMAL(18, 2))",
        "CAST(erp.price AS DECIMAL(18, 1))",
        "revenue on prices rounded to 10 cents",
    ),
    Mutant("bottleneck/sql/turnover.sql", "sum(revenue)", "sum(DISTINCT revenue)", "turnover sums distinct revenues"),
    Mutant(
        "bottleneck/sql/join_losses.sql",
        "WHERE source_row NOT IN (SELECT web_row FROM products)",
        "WHERE source_row NOT IN (SELECT web_row FROM products) AND sku IS NULL",
        "web rows lost in the join not recorded",
    ),
    Mutant(
        "bottleneck/reconcile.py",
        "ANTI JOIN {rule.view}",
        "SEMI JOIN {rule.view}",
        "rejected rows record the kept rows instead of the dropped",
    ),
    Mutant(
        "bottleneck/schemas.py",
        "total_sales: Series[float] = pa.Field(ge=0, nullable=True)",
        "total_sales: Series[float] = pa.Field(nullable=True)",
        "negative total_sales accepted at staging",
    ),
    Mutant(
        "bottleneck/schemas.py",
        "price: Series[float] = pa.Field(nullable=False)\n    stock_quantity",
        "price: Series[float] = pa.Field(nullable=True)\n    stock_quantity",
        "empty ERP price accepted at staging",
    ),
    # The classification.
    Mutant(
        "bottleneck/classify.py",
        '["price_zscore"] > premium_zscore',
        '["price_zscore"] >= premium_zscore',
        "premium: > threshold becomes >=",
    ),
    Mutant(
        "bottleneck/classify.py",
        "cents.std(ddof=1)",
        "cents.std(ddof=0)",
        "z-score on the population standard deviation",
    ),
    Mutant(
        "bottleneck/classify.py",
        'return (prices.astype("float64") * 100).round()',
        'return prices.astype("float64") * 100',
        "z-scores on float prices, not whole cents",
    ),
    Mutant(
        "bottleneck/classify.py",
        "if len(cents) < 2 or cents.nunique() < 2:",
        "if len(cents) < 2:",
        "equal prices not recognised as without spread",
    ),
    # The gate.
    Mutant("bottleneck/quality.py", "        has_products(wines),\n", "", "check skipped: the month has products"),
    Mutant(
        "bottleneck/quality.py",
        "not differences,\n",
        "True,\n",
        "check cannot fail: products equal the rules run apart",
    ),
    Mutant(
        "bottleneck/quality.py",
        "if len(raw) != len(kept) + len(dropped) or silent or twice or unknown:",
        "if unknown:",
        "accounting ignores rows lost or counted twice",
    ),
    Mutant(
        "bottleneck/quality.py",
        "clean[key].duplicated(keep=False)",
        "clean[key].duplicated()",
        "one-to-one check names only the second row",
    ),
    Mutant(
        "bottleneck/quality.py",
        '"liaison.xlsx",\n            "id_web",\n            "product_id",',
        '"liaison.xlsx",\n            "product_id",\n            "product_id",',
        "one-to-one check of skus keyed on product_id",
    ),
    Mutant(
        "bottleneck/quality.py", "        turnover == expected,\n", "        True,\n", "check cannot fail: turnover"
    ),
    Mutant(
        "bottleneck/reference.py",
        "cents = (round(price * 100) for price",
        "cents = (price * 100 for price",
        "reference turnover: a float sum instead of whole cents",
    ),
    Mutant(
        "bottleneck/reference.py",
        'return table.sort_values("source_row").drop_duplicates(list(rule.distinct_on), keep="first")',
        "return table",
        "reference engine skips deduplication",
    ),
    Mutant(
        "bottleneck/quality.py",
        'wines.loc[wines[column].isna(), f"{source}_row"]',
        'wines.loc[wines[column].isna() & False, f"{source}_row"]',
        "empty product values not named",
    ),
    Mutant(
        "bottleneck/quality.py",
        "(Decimal(deviations) / (count * (count - 1))).sqrt()",
        "(Decimal(deviations) / (count * count)).sqrt()",
        "Decimal premium check on the population deviation",
    ),
    Mutant(
        "bottleneck/quality.py",
        "return pd.Series([cent > floor for",
        "return pd.Series([cent >= floor for",
        "Decimal premium check: > threshold becomes >=",
    ),
    Mutant(
        "bottleneck/deliverables.py",
        'len(premium["product_id"]), quality["premium"]',
        'quality["premium"], quality["premium"]',
        "deliverables check compares quality.json with itself",
    ),
    Mutant(
        "bottleneck/list_sheets.py",
        'FROM list_rows ORDER BY excel_row"""',
        'FROM list_rows ORDER BY excel_row DESC"""',
        "the list sheets' rows written in reverse order (LibreOffice reads it, Excel repairs it)",
    ),
    # The vocabularies.
    Mutant(
        "bottleneck/schemas.py",
        "post_type: Series[str] = pa.Field(isin=POST_TYPES, nullable=True)",
        "post_type: Series[str] = pa.Field(nullable=True)",
        "an unknown post_type accepted at staging (then dropped as if it were an image)",
    ),
    Mutant(
        "bottleneck/staging.py",
        "return spellings.get(text.casefold(), text) if text else None",
        "return value",
        "case and surrounding spaces of a vocabulary value not folded",
    ),
    # What a month shows alone, and the figures the months after it compare themselves with.
    Mutant(
        "bottleneck/quality.py",
        "held, unusual = percent > error, percent > warning",
        "held, unusual = False, percent > warning",
        "rows lost in the join never hold a month (a cut export only warns)",
    ),
    Mutant(
        "bottleneck/history.py",
        "same = earlier.get(sha256)",
        "same = earlier.get(sha256[::-1])",
        "a stale upload never recognised",
    ),
    Mutant(
        "bottleneck/figures.py",
        '"figures_version": FIGURES_VERSION}',
        "}",
        "figures recorded before the profile read as current (then misread)",
    ),
    # The history checks.
    Mutant(
        "bottleneck/history.py",
        "    median = statistics.median(values)\n",
        "    median = statistics.mean(values)\n",
        "bands centred on the mean of the months before (one odd month drags it)",
    ),
    Mutant(
        "bottleneck/history.py",
        "low = centre - max(bounds.fall[level] / 100 * centre, bounds.mads[level] * spread)",
        "low = centre - max(bounds.rise[level] / 100 * centre, bounds.mads[level] * spread)",
        "a fall allowed as much as a rise (a cut export passes)",
    ),
    Mutant(
        "bottleneck/history.py",
        "high = centre + max(bounds.rise[level] / 100 * centre, bounds.mads[level] * spread)",
        "high = centre + max(bounds.fall[level] / 100 * centre, bounds.mads[level] * spread)",
        "a rise allowed no more than a fall (a December held)",
    ),
    Mutant(
        "bottleneck/history.py",
        "spread = MAD_SCALE * statistics.median(deviations) if len(values) >= MIN_MONTHS_FOR_MADS else 0.0",
        "spread = 0.0",
        "bands never widened by how much a figure moves (median absolute deviation)",
    ),
    Mutant(
        "bottleneck/history.py",
        "if last_year is None or not error[0] <= last_year <= error[1]:",
        "if True:",
        "the same month a year before ignored (every December warns)",
    ),
    Mutant(
        "bottleneck/history.py",
        "if last_year is None or not error[0] <= last_year <= error[1]:",
        "if last_year is None:",
        "a fault of a year before widens the band",
    ),
    Mutant(
        "bottleneck/history.py",
        'usable = [record for record in records if not reasons[record["month"]]]',
        'usable = [record for record in records if record.get("profile")]',
        "a month that lost its own rows in the join used as a reference",
    ),
    Mutant(
        "bottleneck/history.py",
        'return reason.removeprefix(f"{label}: ").removeprefix(f"{label} ")',
        'return ""',
        "a month without figures taken into the history",
    ),
    # The deliberate release.
    Mutant(
        "bottleneck/admin/accept.py",
        'if check.get("kind") != PLAUSIBILITY:',
        "if False:",
        "accept releases a check of the month's own consistency",
    ),
    Mutant(
        "bottleneck/releases.py",
        'if latest["observed"] == check.observed and latest["raw_sha256"] == exports:',
        "if True:",
        "a release applied whatever the check observes now, on whatever exports",
    ),
    Mutant(
        "bottleneck/releases.py",
        "if check.passed or check.kind != PLAUSIBILITY:",
        "if check.passed:",
        "a release record applied to a consistency check",
    ),
    # Wine by wine.
    Mutant(
        "bottleneck/signals.py",
        "(ratio > factor) | (ratio < 1 / factor)",
        "(ratio > factor)",
        "a price that fell to a fraction of the month before's not signalled",
    ),
    Mutant(
        "bottleneck/signals.py",
        '& (now["total_sales"] > factor * now["best"])',
        '& (now["total_sales"] > factor * now["total_sales"])',
        "units far beyond a wine's own history never signalled",
    ),
]


def copy_of_repo(folder: Path) -> Path:
    """The package and its tests in `folder/repo`, with the real month where the tests look for it."""
    repo = folder / "repo"
    repo.mkdir()
    for name in ("bottleneck", "tests"):
        shutil.copytree(REPO / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("setup.cfg", "pyproject.toml"):
        shutil.copy(REPO / name, repo / name)
    shared = REPO.parent / "shared"
    if shared.exists():
        (folder / "shared").symlink_to(shared)
    return repo


def run_tests(repo: Path, tests: list[str]) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(repo), PYTHONDONTWRITEBYTECODE="1")
    deselected = [argument for test in TEXT_ONLY for argument in ("--deselect", test)]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *deselected, *tests],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
    )


def imported_from(repo: Path) -> str:
    environment = dict(os.environ, PYTHONPATH=str(repo))
    return subprocess.run(
        [sys.executable, "-c", "import bottleneck; print(bottleneck.__file__)"],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def mutated(repo: Path, mutant: Mutant) -> str:
    """Applies the mutant; returns the original text of its file."""
    path = repo / mutant.file
    text = path.read_text()
    if text.count(mutant.old) != 1:
        raise SystemExit(
            f"mutant {mutant.what!r}: {mutant.old!r} is in {mutant.file} {text.count(mutant.old)} times, "
            "not once: update the mutant to the code"
        )
    path.write_text(text.replace(mutant.old, mutant.new))
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", type=int, help="run only these mutants (1-based)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    arguments = parser.parse_args(argv)
    if arguments.list:
        for number, mutant in enumerate(MUTANTS, start=1):
            print(f"{number:3d}  {mutant.file}: {mutant.what}")
        return 0
    chosen = arguments.numbers or range(1, len(MUTANTS) + 1)
    with tempfile.TemporaryDirectory(prefix="mutation-") as folder:
        repo = copy_of_repo(Path(folder))
        where = imported_from(repo)
        if not where.startswith(str(repo)):
            raise SystemExit(f"the copy does not shadow the installed package (bottleneck from {where})")
        baseline = run_tests(repo, UNIT + TASK_TREE)
        if baseline.returncode != 0:
            print(baseline.stdout[-5000:])
            raise SystemExit("the tests fail without any mutant: fix them first")
        survivors = []
        for number in chosen:
            mutant = MUTANTS[number - 1]
            started = time.monotonic()
            original = mutated(repo, mutant)
            try:
                result = run_tests(repo, UNIT)
                stage = "unit tests"
                if result.returncode == 0:
                    result, stage = run_tests(repo, TASK_TREE), "task tree"
            finally:
                (repo / mutant.file).write_text(original)
            killed = result.returncode != 0
            failed = next((line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))), "")
            verdict = f"killed by {stage}: {failed[:110]}" if killed else "SURVIVED"
            print(f"{number:3d} {time.monotonic() - started:5.1f}s  {mutant.what}: {verdict}", flush=True)
            if not killed:
                survivors.append(mutant)
    total = len(list(chosen))
    print(f"mutation score: {total - len(survivors)}/{total} killed ({100 * (total - len(survivors)) / total:.0f}%)")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
