"""The benchmark: the whole `luigi` pipeline process against the naive baseline script, from 1 to N months.

For each scale it generates (once, cached in benchmarks/out/) the seed month copied N times, then runs,
alternating and several times each:
  - the real `luigi --module bottleneck RunMonth --month M --local-scheduler` on a fresh local lake, with
    no [smtp] host so the email is written to a file;
  - `python benchmarks/baseline.py INPUT OUTPUT`: the original naive flow (its workbook by openpyxl);
  - `python benchmarks/baseline.py --writer xlsxwriter INPUT OUTPUT`: the stronger naive flow (pandas'
    default writer, xlsxwriter, and one sheet of products, as the seed's flow wrote it).
Each run is one child process, measured from outside: wall time, CPU time (user + sys) and peak RSS from
os.wait4 on that child. It prints the medians, the ratios pipeline / baseline and the cost per input row,
and checks that both produced the expected figures: exit 1 if either did not (the timings are not judged;
the targets are printed, for a human to read).

    python -m benchmarks.run --scales 1 10 100 --runs 3
    python -m benchmarks.run --scales 400 --runs 1
    python -m benchmarks.run --smoke            # scale 1, one run each (CI)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import scale_month

REPO = scale_month.REPO
BASELINE = REPO / "benchmarks" / "baseline.py"
FIGURES = ("products", "turnover", "premium", "ordinary")
SEED_MONTH_LABEL = "2020-08"  # the month the seed exports were taken from


# The flows measured: the pipeline, and each naive flow with the workbook writer baseline.py is given.
BASELINES = {"baseline": "openpyxl", "stronger": "xlsxwriter"}
KINDS = ("pipeline", *BASELINES)


@dataclass
class Run:
    kind: str  # one of KINDS
    scale: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    exit_code: int
    figures: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


def measured(command: list[str], *, env: dict, cwd: Path, log: Path) -> tuple[float, float, float, int]:
    """Runs command as one child; its wall time, user+sys CPU, peak RSS (MB) and exit code."""
    with open(log, "wb") as output:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        # wait4 gives this child's own rusage (its CPU includes the grandchildren it waited for;
        # ru_maxrss is the largest RSS among them), unlike getrusage(RUSAGE_CHILDREN), which would
        # fold in every earlier run.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child.returncode


RUNTIME_VENV = scale_month.OUT / "runtime-venv"
REQUIREMENTS = ("setup.cfg", "pyproject.toml", "requirements/constraints.txt")


def runtime_python() -> Path:
    """The Python of a virtual environment holding the package and its runtime dependencies alone, as the
    image and `pip install bottleneck` have them; made once, and again when the requirements change.

    The development environment also holds the test and deployment tools, two of which Luigi imports
    whenever they are installed (requests by moto, jsonschema by kubernetes-validate: about 0.2 s a
    run), a cost no production run pays. The package itself is this tree (an editable install).
    """
    python = RUNTIME_VENV / "bin" / "python"
    stamp = RUNTIME_VENV / "requirements.sha256"
    wanted = hashlib.sha256(b"".join((REPO / name).read_bytes() for name in REQUIREMENTS)).hexdigest()
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        shutil.rmtree(RUNTIME_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(RUNTIME_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-c",
                str(REPO / "requirements" / "constraints.txt"),
                "-e",
                str(REPO),
            ],
            check=True,
        )
        stamp.write_text(wanted)
    return python


def luigi_command() -> str:
    return str(runtime_python().parent / "luigi")


def clean_env(**extra: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LUIGI_", "BOTTLENECK_", "SMTP_", "AWS_")) and k != "PYTHONPATH"
    }
    env.update(extra)
    return env


def write_luigi_cfg(path: Path, lake: Path, input_bytes: int) -> None:
    # No [smtp] host: the email is written as reports/YYYY/MM/email.eml. The size guards are raised
    # with the input (scale 400 is a 140 MB web.xlsx), since refusing a big month is not what is measured.
    limit_mb = max(50, 4 * input_bytes // 1_000_000)
    path.write_text(
        "[bottleneck]\n"
        f"lake = {lake}\n"
        f"max_file_mb = {limit_mb}\n"
        f"max_unpacked_mb = {limit_mb * 20}\n"
        "[email]\n"
        "sender = benchmark@bottleneck.invalid\n"
        "receiver = reader@bottleneck.invalid\n"
    )


def run_pipeline(folder: Path, expected: dict, month: str, work: Path, pythonpath: str | None = None) -> Run:
    lake = work / "lake"
    yyyy, mm = month.split("-")
    raw = lake / "raw" / yyyy / mm
    raw.mkdir(parents=True)
    input_bytes = 0
    for source in scale_month.SOURCES:
        src = folder / f"{source}.xlsx"
        input_bytes += src.stat().st_size
        try:
            os.link(src, raw / src.name)  # the pipeline only reads raw/: no need to copy 140 MB
        except OSError:
            shutil.copyfile(src, raw / src.name)
    cfg = work / "luigi.cfg"
    write_luigi_cfg(cfg, lake, input_bytes)
    env = clean_env(LUIGI_CONFIG_PATH=str(cfg), BOTTLENECK_LAKE=str(lake))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = [luigi_command(), "--module", "bottleneck", "RunMonth", "--month", month, "--local-scheduler"]
    log = work / "pipeline.log"
    wall, cpu, rss, code = measured(command, env=env, cwd=work, log=log)
    run = Run("pipeline", expected["scale"], wall, cpu, rss, code)
    reports = lake / "reports" / yyyy / mm
    if code != 0:
        run.problems.append(f"exit code {code}; log: {tail(log)}")
        return run
    try:
        quality = json.loads((reports / "quality.json").read_text())
        run.figures = {name: quality.get(name) for name in FIGURES}
        premium, premium_revenue = csv_rows_and_revenue(reports / "premium_wines.csv")
        ordinary, ordinary_revenue = csv_rows_and_revenue(reports / "ordinary_wines.csv")
        run.figures["csv"] = {
            "premium": premium,
            "ordinary": ordinary,
            "turnover": round(premium_revenue + ordinary_revenue, 2),
        }
    except (OSError, ValueError, KeyError) as error:
        run.problems.append(f"cannot read the month's reports: {error!r}")
        return run
    run.problems += mismatches(run.figures, expected, "quality.json")
    run.problems += mismatches({**run.figures["csv"], "products": premium + ordinary}, expected, "CSVs")
    if not ((reports / "email.eml").exists() and (reports / "email.json").exists()):
        run.problems.append("no email.eml / email.json in reports/")
    return run


def csv_rows_and_revenue(path: Path) -> tuple[int, float]:
    rows, revenue = 0, 0.0
    with open(path, newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            rows += 1
            revenue += float(row["revenue"])
    return rows, revenue


def run_baseline(folder: Path, expected: dict, work: Path, kind: str = "baseline") -> Run:
    out = work / kind
    log = work / f"{kind}.log"
    command = [sys.executable, str(BASELINE), "--writer", BASELINES[kind], str(folder), str(out)]
    wall, cpu, rss, code = measured(command, env=clean_env(PYTHONWARNINGS="ignore"), cwd=work, log=log)
    run = Run(kind, expected["scale"], wall, cpu, rss, code)
    if code != 0:
        run.problems.append(f"exit code {code}; log: {tail(log)}")
        return run
    try:
        run.figures = json.loads(log.read_text().strip().splitlines()[-1])
    except (ValueError, IndexError) as error:
        run.problems.append(f"no figures printed: {error!r}; log: {tail(log)}")
        return run
    run.problems += mismatches(run.figures, expected, kind)
    return run


def mismatches(figures: dict, expected: dict, where: str) -> list[str]:
    problems = []
    for name in FIGURES:
        if name not in figures:
            continue
        got, want = figures[name], expected[name]
        same = abs(float(got) - want) < 0.005 if name == "turnover" else got == want
        if not same:
            problems.append(f"{where}: {name} = {got}, expected {want}")
    return problems


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": os.getloadavg(),
    }


def median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(run, attribute) for run in runs)


def summary(runs: list[Run], expected_by_scale: dict[int, dict]) -> list[dict]:
    rows = []
    for scale, expected in expected_by_scale.items():
        input_rows = sum(expected["input_rows"].values())
        row = {"scale": scale, "input_rows": input_rows, "web_rows": expected["input_rows"]["web"]}
        for kind in KINDS:
            mine = [run for run in runs if run.scale == scale and run.kind == kind]
            if not mine:
                continue
            row[kind] = {
                "runs": len(mine),
                "wall_s": median(mine, "wall_s"),
                "cpu_s": median(mine, "cpu_s"),
                "peak_rss_mb": median(mine, "peak_rss_mb"),
                "wall_us_per_row": median(mine, "wall_s") / input_rows * 1e6,
                "cpu_us_per_row": median(mine, "cpu_s") / input_rows * 1e6,
            }
        for kind, ratio in (("baseline", "ratio"), ("stronger", "ratio_stronger")):
            if kind in row:
                row[ratio] = {key: row["pipeline"][key] / row[kind][key] for key in ("wall_s", "cpu_s", "peak_rss_mb")}
        rows.append(row)
    return rows


def _markdown(header: str, rows: list[str]) -> str:
    """A Markdown table: its header, the separator line under it, its rows."""
    return "\n".join([header, "|" + "---|" * (header.count("|") - 1), *rows])


def table(rows: list[dict]) -> str:
    header = (
        "| scale | input rows | pipeline wall s | cpu s | peak RSS MB | baseline wall s | cpu s | peak RSS MB "
        "| wall ratio | cpu ratio | RSS ratio | pipeline µs/row (wall, cpu) | baseline µs/row (wall, cpu) |"
    )
    lines = []
    for row in rows:
        p, b, r = row["pipeline"], row["baseline"], row["ratio"]
        lines.append(
            f"| {row['scale']} | {row['input_rows']:,} | {p['wall_s']:.2f} | {p['cpu_s']:.2f} | {p['peak_rss_mb']:.0f} "
            f"| {b['wall_s']:.2f} | {b['cpu_s']:.2f} | {b['peak_rss_mb']:.0f} "
            f"| {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.2f} "
            f"| {p['wall_us_per_row']:.1f}, {p['cpu_us_per_row']:.1f} "
            f"| {b['wall_us_per_row']:.1f}, {b['cpu_us_per_row']:.1f} |"
        )
    return _markdown(header, lines)


def both_baselines_table(rows: list[dict]) -> str:
    """The pipeline beside both naive flows, wall time and peak memory: how many times faster, in what memory."""
    header = (
        "| scale | pipeline wall s | peak RSS MB | naive, openpyxl: wall s | RSS MB | x faster | x memory "
        "| naive, xlsxwriter: wall s | RSS MB | x faster | x memory |"
    )
    lines = []
    for row in rows:
        cells = [f"{row['scale']}", f"{row['pipeline']['wall_s']:.2f}", f"{row['pipeline']['peak_rss_mb']:.0f}"]
        for kind, ratio in (("baseline", "ratio"), ("stronger", "ratio_stronger")):
            if kind in row:
                cells += [
                    f"{row[kind]['wall_s']:.2f}",
                    f"{row[kind]['peak_rss_mb']:.0f}",
                    f"{1 / row[ratio]['wall_s']:.1f}",
                    f"{row[ratio]['peak_rss_mb']:.2f}",
                ]
            else:
                cells += ["-"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    return _markdown(header, lines)


def targets(rows: list[dict]) -> list[str]:
    """The issue's targets, each with what was measured; printed, never enforced."""
    by_scale = {row["scale"]: row for row in rows}
    verdicts = []

    def verdict(ok: bool, text: str) -> None:
        verdicts.append(f"[{'met' if ok else 'MISSED'}] {text}")

    if 100 in by_scale:
        r = by_scale[100]["ratio"]
        verdict(
            r["wall_s"] <= 1 / 8,
            f"scale 100: pipeline >= 8x faster in wall time (ratio {r['wall_s']:.3f}, {1 / r['wall_s']:.1f}x)",
        )
    for scale in (100, 400):
        if scale in by_scale:
            r = by_scale[scale]["ratio"]
            verdict(
                r["peak_rss_mb"] <= 1.0,
                f"scale {scale}: peak RSS no higher than the baseline's (ratio {r['peak_rss_mb']:.2f})",
            )
    if 1 in by_scale:
        r = by_scale[1]["ratio"]
        verdict(r["wall_s"] <= 1.2, f"scale 1: whole luigi process at most 1.2x the baseline (ratio {r['wall_s']:.2f})")
    big = sorted(scale for scale in by_scale if scale >= 10)
    if len(big) >= 2:
        low, high = by_scale[big[0]]["pipeline"], by_scale[big[-1]]["pipeline"]
        verdict(
            high["wall_us_per_row"] < low["wall_us_per_row"],
            f"cost per row falling {big[0]} -> {big[-1]}: {low['wall_us_per_row']:.1f} -> "
            f"{high['wall_us_per_row']:.1f} µs/row wall",
        )
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100], help="month sizes, in copies")
    parser.add_argument("--runs", type=int, default=3, help="runs of each flow at each scale")
    parser.add_argument("--smoke", action="store_true", help="scale 1, one run each: the CI check")
    parser.add_argument("--month", default=SEED_MONTH_LABEL, help="the month the lake files are filed under")
    parser.add_argument("--seed", type=Path, default=scale_month.SEED_MONTH, help="the source month's folder")
    parser.add_argument("--only", choices=KINDS, help="run one flow only (profiling)")
    parser.add_argument(
        "--pythonpath", help="PYTHONPATH for the pipeline only: measure a candidate tree of the package"
    )
    parser.add_argument("--keep", action="store_true", help="keep each run's lake and logs under benchmarks/out/runs")
    parser.add_argument("--json", type=Path, help="also write every run and the summary to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.scales, args.runs = [1], 1
    if not (args.seed / "erp.xlsx").exists():
        print(f"the source month is absent: {args.seed} (set BOTTLENECK_SEED_MONTH or --seed)", file=sys.stderr)
        return 2

    info = machine()
    print(
        f"machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['memory']}, Python {info['python']}, "
        f"{info['system']}; load average at start {', '.join(f'{x:.2f}' for x in info['load_average_at_start'])}",
        flush=True,
    )
    runs_root = scale_month.OUT / "runs"
    runs_root.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    expected_by_scale: dict[int, dict] = {}
    for scale in args.scales:
        started = time.perf_counter()
        folder, expected = scale_month.scaled_month(scale, args.seed)
        expected_by_scale[scale] = expected
        print(
            f"scale {scale}: {sum(expected['input_rows'].values()):,} input rows in {folder} "
            f"(ready in {time.perf_counter() - started:.1f} s); expected {expected['products']} products, "
            f"turnover {expected['turnover']:,.2f}, {expected['premium']} premium, {expected['ordinary']} ordinary",
            flush=True,
        )
        kinds = list(KINDS) if args.only is None else [args.only]
        for index in range(args.runs):
            # Alternate which flow goes first, so neither always meets a warmer page cache.
            for kind in kinds if index % 2 == 0 else kinds[::-1]:
                work = Path(tempfile.mkdtemp(prefix=f"x{scale}-{kind}-", dir=runs_root))
                if kind == "pipeline":
                    run = run_pipeline(folder, expected, args.month, work, args.pythonpath)
                else:
                    run = run_baseline(folder, expected, work, kind)
                runs.append(run)
                status = "ok" if not run.problems else "WRONG: " + " | ".join(run.problems)
                print(
                    f"  {kind:8} run {index + 1}: wall {run.wall_s:7.2f} s  cpu {run.cpu_s:7.2f} s  "
                    f"peak RSS {run.peak_rss_mb:7.0f} MB  {status}",
                    flush=True,
                )
                if args.keep or run.problems:
                    print(f"    kept: {work}")
                else:
                    shutil.rmtree(work, ignore_errors=True)

    wrong = [run for run in runs if run.problems]
    if args.only is None:
        rows = summary(runs, expected_by_scale)
        print()
        print(
            f"Medians of {args.runs} run(s) each; ratio = pipeline / baseline; µs/row = per input row "
            "(erp + web + liaison)."
        )
        print(table(rows))
        print()
        print("Against both naive flows (x faster = their wall / the pipeline's; x memory = its RSS / theirs):")
        print(both_baselines_table(rows))
        print()
        for line in targets(rows):
            print(line)
    else:
        rows = []
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "machine": info,
                    "argv": sys.argv,
                    "summary": rows,
                    "runs": [asdict(run) for run in runs],
                },
                indent=2,
            )
        )
    if wrong:
        print(f"\n{len(wrong)} run(s) did not produce the expected figures:", file=sys.stderr)
        for run in wrong:
            print(f"  {run.kind} x{run.scale}: {' | '.join(run.problems)}", file=sys.stderr)
        return 1
    print("\nall runs produced the expected figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
