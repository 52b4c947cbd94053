"""A month run through a real luigid: the scheduler's API shows the whole tree DONE, with its dependencies."""
import urllib.request

import luigi.task

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
        requirements = luigi.task.flatten(current.requires())
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
    assert len(expected) == 14  # 3 raw exports, manifest, 3 staged, reconciled, classified, quality, report,
    # deliverables checked, email, run
    listed = luigid.api("task_list", status="", upstream_status="", search="")
    assert set(listed) == set(expected)
    for task_id, (task, _) in expected.items():
        shown = listed[task_id]
        assert shown["status"] == "DONE", (task_id, shown["status"])
        assert shown["name"] == task.task_family
        # Readable in the visualiser: the month as YYYY-MM, the source by name.
        assert shown["params"] == {name: task.to_str_params()[name] for name in shown["params"]}
        assert shown["params"]["month"] == MONTH
        assert shown["display_name"] == f"{task.task_family}({', '.join(f'{k}={v}' for k, v in shown['params'].items())})"

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
        finished = db.execute("SELECT t.name, e.event_name FROM tasks t JOIN task_events e ON e.task_id = t.id "
                              "WHERE e.event_name = 'DONE'").fetchall()
    assert {name for name, _ in finished} >= {"RunMonth", "MonthEmail", "MonthReport", "RawManifest"}

    with urllib.request.urlopen(luigid.url + "metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    assert "luigi_task_finished_total" in metrics or "luigi_task" in metrics
    assert 'family="MonthEmail"' in metrics
