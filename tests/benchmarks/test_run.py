"""The benchmark command's own parts: measuring a child process, and judging the figures it reports."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import run  # noqa: E402 - importable once the repository is on sys.path

EXPECTED = {
    "scale": 2,
    "products": 1428,
    "turnover": 141137.20,
    "premium": 60,
    "ordinary": 1368,
    "input_rows": {"erp": 1650, "web": 3026, "liaison": 1650},
}


def test_measured_reports_the_childs_own_time_memory_and_exit_code(tmp_path):
    # The child holds ~200 MB and burns some CPU: both must show in its own rusage, not the parent's.
    code = (
        "import time; b = bytearray(200_000_000); t = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\n"
        "raise SystemExit(3)"
    )
    wall, cpu, rss, exit_code = run.measured(
        [sys.executable, "-c", code], env=run.clean_env(), cwd=tmp_path, log=tmp_path / "log"
    )
    assert exit_code == 3
    assert cpu >= 0.3
    assert wall >= cpu * 0.5
    assert rss >= 190


def test_mismatches_allow_turnover_to_the_cent_and_nothing_else():
    good = {"products": 1428, "turnover": 141137.2000001, "premium": 60, "ordinary": 1368}
    assert run.mismatches(good, EXPECTED, "x") == []
    bad = {**good, "premium": 59, "turnover": 141137.21}
    assert run.mismatches(bad, EXPECTED, "x") == [
        "x: turnover = 141137.21, expected 141137.2",
        "x: premium = 59, expected 60",
    ]


def test_csv_rows_and_revenue(tmp_path):
    path = tmp_path / "premium_wines.csv"
    path.write_text("product_id,revenue\n1,10.10\n2,0.20\n", encoding="utf-8")
    rows, revenue = run.csv_rows_and_revenue(path)
    assert rows == 2
    assert abs(revenue - 10.30) < 1e-9


def test_summary_and_targets_from_runs():
    runs = [
        run.Run("pipeline", 100, 8.0, 7.0, 500.0, 0),
        run.Run("baseline", 100, 48.0, 47.0, 650.0, 0),
        run.Run("pipeline", 100, 9.0, 7.5, 510.0, 0),
        run.Run("baseline", 100, 50.0, 49.0, 660.0, 0),
    ]
    expected = {100: {**EXPECTED, "scale": 100, "input_rows": {"erp": 82500, "web": 151300, "liaison": 82500}}}
    rows = run.summary(runs, expected)
    assert rows[0]["pipeline"]["wall_s"] == 8.5
    assert rows[0]["baseline"]["wall_s"] == 49.0
    assert abs(rows[0]["ratio"]["wall_s"] - 8.5 / 49.0) < 1e-12
    assert "| 100 | 316,300 |" in run.table(rows)
    verdicts = run.targets(rows)
    assert verdicts[0].startswith("[MISSED] scale 100: pipeline >= 8x faster in wall time (ratio 0.173")
    assert verdicts[1].startswith("[met] scale 100: peak RSS no higher than the baseline's (ratio 0.77)")
    fast = [run.Run("pipeline", 100, 5.0, 5.0, 700.0, 0), run.Run("baseline", 100, 45.0, 45.0, 650.0, 0)]
    assert [verdict[:6] for verdict in run.targets(run.summary(fast, expected))] == ["[met] ", "[MISSE"]


def test_the_pipeline_is_set_beside_both_naive_flows():
    runs = [
        run.Run("pipeline", 100, 8.0, 7.0, 480.0, 0),
        run.Run("baseline", 100, 70.0, 69.0, 650.0, 0),
        run.Run("stronger", 100, 45.0, 44.0, 320.0, 0),
    ]
    expected = {100: {**EXPECTED, "scale": 100, "input_rows": {"erp": 82500, "web": 151300, "liaison": 82500}}}
    rows = run.summary(runs, expected)
    assert abs(rows[0]["ratio_stronger"]["wall_s"] - 8.0 / 45.0) < 1e-12
    assert abs(rows[0]["ratio_stronger"]["peak_rss_mb"] - 1.5) < 1e-12
    assert "| 100 | 8.00 | 480 | 70.00 | 650 | 8.8 | 0.74 | 45.00 | 320 | 5.6 | 1.50 |" in run.both_baselines_table(
        rows
    )
    alone = run.summary(runs[:2], expected)
    assert "ratio_stronger" not in alone[0]
    assert alone[0]["scale"] == 100
    assert "| 100 | 8.00 | 480 | 70.00 | 650 | 8.8 | 0.74 | - | - | - | - |" in run.both_baselines_table(alone)
