"""The Luigi visualiser, in headless Chromium, draws the graph of a month run through luigid."""

import html
import shutil
import subprocess
import tempfile

import pytest

from bottleneck.tasks import RunMonth, StagedExport
from tests.conftest import REPO
from tests.scheduler import runs
from tests.scheduler.test_luigid import tree

MONTH = "2020-05"
ARTIFACTS = REPO / "test-artifacts"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("no Chromium: apt-get install -y chromium (Debian) to test the visualiser")


def headless(browser: str, url: str, *output: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--window-size=1400,900",
                *output,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )


def run_month_through(luigid, local_lake, tmp_path) -> None:
    """MONTH's exports written and the month run to its end with luigid as its scheduler."""
    runs.write_months(MONTH)
    config = tmp_path / "luigi.cfg"
    config.write_text(luigid.luigi_cfg())
    done = runs.run(["RunMonth", "--month", MONTH], runs.environment(str(local_lake), config), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]


def test_graph_page_of_a_finished_month_shows_every_task_done(luigid, local_lake, tmp_path):
    browser = chromium()
    run_month_through(luigid, local_lake, tmp_path)

    root = RunMonth(month=runs.month_of(MONTH))
    page = f"{luigid.url}static/visualiser/index.html#tab=graph&taskId={root.task_id}"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"visualiser-graph-{MONTH}.png"
    shot = headless(browser, page, f"--screenshot={screenshot}")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 0, shot.stderr[-2000:]
    dump = headless(browser, page, "--dump-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    (ARTIFACTS / f"visualiser-graph-{MONTH}.html").write_text(dom)

    # Each task of the month is a node of the drawn graph, linked by its id, coloured DONE, named by family.
    placeholder = dom[dom.index('id="graphPlaceholder"') :]
    for task_id, (task, _) in tree(root).items():
        node = f'data-task-status="DONE" data-task-id="{html.escape(task_id)}"'
        assert node in placeholder, task_id
        assert f">{task.task_family}</text>" in placeholder
    assert placeholder.count('class="graph-node-a"') == len(tree(root)) == 15 + 12  # and the 12 months before
    assert f"RunMonth(month={MONTH})" in dom  # the graph's title: the root task with its parameter


def test_task_list_shows_the_status_messages_of_a_month(luigid, local_lake, tmp_path):
    from bottleneck.tasks import ClassifiedWines, MonthInputs, QualityReport, RawManifest, ReconciledProducts

    browser = chromium()
    run_month_through(luigid, local_lake, tmp_path)

    page = f"{luigid.url}static/visualiser/index.html#tab=tasks&length=50"
    dump = headless(browser, page, "--dump-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"visualiser-tasks-{MONTH}.html").write_text(dom)
    month = runs.month_of(MONTH)
    staged = [StagedExport(month=month, source=source) for source in ("erp", "web", "liaison")]
    reporting = [RawManifest(month=month), *staged, ReconciledProducts(month=month), ClassifiedWines(month=month)]
    for task in [*reporting, QualityReport(month=month)]:
        # The task's row carries the status button, which opens the message read from luigid (asserted there).
        button = (
            f'class="btn btn-primary btn-xs statusMessage" title="Status message" data-toggle="tooltip" '
            f'data-task-id="{html.escape(task.task_id)}"'
        )
        assert button in dom, task
        assert luigid.api("get_task_status_message", task_id=task.task_id)["statusMessage"].startswith(MONTH)
    # A task that says nothing has no button: the button is not drawn for every task.
    silent = MonthInputs(month=month)
    assert (
        f'statusMessage" title="Status message" data-toggle="tooltip" data-task-id="{html.escape(silent.task_id)}"'
        not in dom
    )
    assert html.escape(silent.task_id) in dom
