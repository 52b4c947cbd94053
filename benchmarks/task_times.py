"""Where a pipeline run spends its time and memory: CPU, wall and peak RSS of each task, and of the imports.

Runs the same `luigi --module bottleneck RunMonth --local-scheduler` as the benchmark, in this process,
with a Luigi event handler that reads the clocks when each task starts and ends. No profiler is
attached, so the figures are the real ones (a profiler inflates Python-heavy code several times).

    python -m benchmarks.task_times --scale 100 [--pythonpath DIR]   (DIR: a candidate tree of the package)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import run, scale_month

CHILD = r"""
import json, os, resource, sys, time
started_cpu, started_wall = time.process_time(), time.perf_counter()
import luigi, luigi.cmdline
marks = {"_start": [started_cpu, started_wall]}
rows = []

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

@luigi.Task.event_handler(luigi.Event.START)
def _start(task):
    if "_imports" not in marks:
        marks["_imports"] = [time.process_time(), time.perf_counter(), peak_mb()]
    marks[task.task_id] = [time.process_time(), time.perf_counter()]

@luigi.Task.event_handler(luigi.Event.SUCCESS)
def _end(task):
    cpu, wall = marks[task.task_id]
    name = task.task_family + (f"({task.source})" if hasattr(task, "source") else "")
    rows.append([name, time.process_time() - cpu, time.perf_counter() - wall, peak_mb()])

sys.argv = ["luigi"] + sys.argv[1:]
code = 0
try:
    luigi.cmdline.luigi_run()
except SystemExit as exit:
    code = exit.code or 0
first = marks.get("_imports", [time.process_time(), time.perf_counter(), peak_mb()])
print("TASK_TIMES " + json.dumps({
    "imports_and_scheduling": [first[0] - started_cpu, first[1] - started_wall, first[2]],
    "tasks": rows,
    "total": [time.process_time() - started_cpu, time.perf_counter() - started_wall, peak_mb()],
    "exit_code": code,
}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--month", default=run.SEED_MONTH_LABEL)
    parser.add_argument("--pythonpath", help="PYTHONPATH for the pipeline: a candidate tree of the package")
    args = parser.parse_args(argv)
    folder, expected = scale_month.scaled_month(args.scale)
    runs_root = scale_month.OUT / "runs"
    runs_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"times-x{args.scale}-", dir=runs_root))
    try:
        lake = work / "lake"
        yyyy, mm = args.month.split("-")
        raw = lake / "raw" / yyyy / mm
        raw.mkdir(parents=True)
        size = 0
        for source in scale_month.SOURCES:
            os.link(folder / f"{source}.xlsx", raw / f"{source}.xlsx")
            size += (folder / f"{source}.xlsx").stat().st_size
        cfg = work / "luigi.cfg"
        run.write_luigi_cfg(cfg, lake, size)
        env = run.clean_env(LUIGI_CONFIG_PATH=str(cfg), BOTTLENECK_LAKE=str(lake))
        if args.pythonpath:
            env["PYTHONPATH"] = args.pythonpath
        command = [
            str(run.runtime_python()),
            "-c",
            CHILD,
            "--module",
            "bottleneck",
            "RunMonth",
            "--month",
            args.month,
            "--local-scheduler",
        ]
        done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True)
        line = next((text for text in done.stdout.splitlines() if text.startswith("TASK_TIMES ")), None)
        if line is None:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
            return 1
        import json

        times = json.loads(line[len("TASK_TIMES ") :])
        print(
            f"scale {args.scale} ({sum(expected['input_rows'].values()):,} input rows), exit code {times['exit_code']}"
        )
        print(f"{'step':28} {'cpu s':>7} {'wall s':>7} {'peak RSS MB so far':>19}")
        cpu, wall, rss = times["imports_and_scheduling"]
        print(f"{'imports + scheduling':28} {cpu:7.2f} {wall:7.2f} {rss:19.0f}")
        for name, cpu, wall, rss in times["tasks"]:
            print(f"{name:28} {cpu:7.2f} {wall:7.2f} {rss:19.0f}")
        cpu, wall, rss = times["total"]
        print(f"{'whole process':28} {cpu:7.2f} {wall:7.2f} {rss:19.0f}")
        return 0 if times["exit_code"] == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
