"""A month run through a real luigid: the scheduler's API shows the whole tree DONE, with its dependencies."""

import urllib.request

from bottleneck.tasks import RunMonth
from tests.scheduler import runs

MONTH = "2020-03"


def tree(task) -> dict:
    """task_id -> (task, ids of its direct requirements), for the task and everything under it."""
    found, stack = {}, [task]
    while stack:
        current = stack.pop()
        if current.task_id in found:
            continue
        requirements = current.deps()  # requires() and the check every task of the month waits for
        found[current.task_id] = (current, {required.task_id for required in requirements})
        stack.extend(requirements)
    return found


def run_month_through(luigid, local_lake, tmp_path):
    """The month run by `bottleneck-run` with luigid as its scheduler; asserts it succeeded."""
    runs.write_months(MONTH)
    config = tmp_path / "luigi.cfg"
    config.write_text(luigid.luigi_cfg())
    done = runs.run(["RunMonth", "--month", MONTH], runs.environment(str(local_lake), config), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_month_through_luigid_is_listed_done_with_its_dependencies(luigid, local_lake, tmp_path):
    done = run_month_through(luigid, local_lake, tmp_path)
    assert "cannot be reached" not in done.stderr
    assert runs.report_exists(MONTH)

    expected = tree(RunMonth(month=runs.month_of(MONTH)))
    # 3 raw exports, the inputs check, manifest, 3 staged, reconciled, classified, quality, report, the
    # deliverables' check, email, run, and the figures of the 12 months before, which the gate judges the month
    # against (the report compares it with the last 11).
    assert len(expected) == 15 + 12
    listed = luigid.api("task_list", status="", upstream_status="", search="")
    assert set(listed) == set(expected)
    for task_id, (task, _) in expected.items():
        shown = listed[task_id]
        assert shown["status"] == "DONE", (task_id, shown["status"])
        assert shown["name"] == task.task_family
        # Readable in the visualiser: the month as YYYY-MM, the source by name.
        assert shown["params"] == {name: task.to_str_params()[name] for name in shown["params"]}
        assert shown["params"]["month"] == task.to_str_params()["month"]
        assert (
            shown["display_name"] == f"{task.task_family}({', '.join(f'{k}={v}' for k, v in shown['params'].items())})"
        )

    assert {
        listed[task_id]["params"]["month"] for task_id in expected if listed[task_id]["name"] != "MonthFigures"
    } == {MONTH}

    root = RunMonth(month=runs.month_of(MONTH)).task_id
    graph = luigid.api("dep_graph", task_id=root)
    assert set(graph) == set(expected)
    for task_id, (_, requirements) in expected.items():
        assert set(graph[task_id]["deps"]) == requirements, task_id
        assert graph[task_id]["status"] == "DONE"


def test_luigid_records_task_history_and_exports_metrics(luigid, local_lake, tmp_path):
    import sqlite3

    run_month_through(luigid, local_lake, tmp_path)

    with sqlite3.connect(luigid.history_db) as db:
        finished = db.execute(
            "SELECT t.name, e.event_name FROM tasks t JOIN task_events e ON e.task_id = t.id "
            "WHERE e.event_name = 'DONE'"
        ).fetchall()
    assert {name for name, _ in finished} >= {"RunMonth", "MonthEmail", "MonthReport", "RawManifest"}

    with urllib.request.urlopen(luigid.url + "metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    assert "luigi_task_finished_total" in metrics or "luigi_task" in metrics
    assert 'family="MonthEmail"' in metrics


def test_long_tasks_report_rows_and_checks_to_luigid(luigid, local_lake, tmp_path):
    import json

    from bottleneck import lake
    from bottleneck.tables import table_from_parquet
    from bottleneck.tasks import ClassifiedWines, QualityReport, RawManifest, ReconciledProducts, StagedExport

    run_month_through(luigid, local_lake, tmp_path)
    month = runs.month_of(MONTH)
    stored = {name: lake.read_bytes(lake.target(month, name)) for name in ("staged_web", "funnel", "quality")}
    web_rows = len(table_from_parquet(stored["staged_web"]))
    funnel = json.loads(stored["funnel"])["rows"]
    quality = json.loads(stored["quality"])
    expected = {
        RawManifest(month=month): f"{MONTH}: 3 raw exports recorded (",
        StagedExport(
            month=month, source="web"
        ): f"{MONTH}: web.xlsx: {web_rows:,} rows read, every one typed and valid",
        ReconciledProducts(month=month): (
            f"{MONTH}: erp {funnel['erp'][0]['rows']:,} rows read, {funnel['erp'][-1]['rows']:,} "
            f"kept, web {funnel['web'][0]['rows']:,} rows read, {funnel['web'][-1]['rows']:,} kept, "
        ),
        ClassifiedWines(month=month): (
            f"{MONTH}: {quality['premium']:,} premium, {quality['ordinary']:,} ordinary (price z-score above 2)"
        ),
        QualityReport(month=month): f"{MONTH}: {len(quality['checks'])} of {len(quality['checks'])} checks passed",
    }
    listed = luigid.api("task_list", status="DONE", upstream_status="", search="")
    for task, message in expected.items():
        task_id = task.task_id
        # As the visualiser reads it when the task's status button is pressed.
        shown = luigid.api("get_task_status_message", task_id=task_id)["statusMessage"]
        assert shown.startswith(message), (task, shown)
        assert luigid.api("get_task_progress_percentage", task_id=task_id)["progressPercentage"] == 100
        assert listed[task_id]["status_message"] == shown
    assert (
        f"; {funnel['products']:,} products"
        in luigid.api("get_task_status_message", task_id=ReconciledProducts(month=month).task_id)["statusMessage"]
    )
