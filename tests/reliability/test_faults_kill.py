"""The pipeline process SIGKILLed at each task in turn, then run again: the same reports, one email."""

import pytest

from tests.reliability.harness import READERS, REPORT_FILES, Lake, difference

pytestmark = pytest.mark.slow

TASKS = [
    "RawManifest",
    "StagedExport(erp)",
    "StagedExport(web)",
    "StagedExport(liaison)",
    "ReconciledProducts",
    "ClassifiedWines",
    "QualityReport",
    "MonthReport",
    "CheckedDeliverables",
    "MonthEmail",
]
# Inside the tasks that write more than one file: ReconciledProducts writes lake writes 6 to 8 (kill
# after its first and second), MonthReport writes 10 to 14 (kill after each of its first four).
MID_TASK_WRITES = [5, 6, 10, 11, 12, 13]
KILL_POINTS = [f"start:{task}" for task in TASKS] + [f"write:{writes}" for writes in MID_TASK_WRITES]
# Stable apart from timestamps: the receipt's sent_at and the message's Date and Message-ID.
STABLE = [f"reports/2020/08/{name}" for name in REPORT_FILES] + [
    "staging/2020/08/erp.parquet",
    "staging/2020/08/web.parquet",
    "staging/2020/08/liaison.parquet",
    "work/2020/08/raw_manifest.json",
    "work/2020/08/products.parquet",
    "work/2020/08/rejected_rows.parquet",
    "work/2020/08/funnel.json",
    "work/2020/08/classified_wines.parquet",
    "work/2020/08/quality.json",
    "work/2020/08/deliverables_check.json",
]


@pytest.fixture(scope="module")
def kill_lake(s3_server, month_exports):
    """One bucket for every kill point, so that recorded paths are the same as in the reference run."""
    lake = Lake(s3_server, "kill-points")
    lake.put_month(month_exports)
    return lake


@pytest.fixture(scope="module")
def reference(kill_lake, smtp_server, tmp_path_factory, s3_server):
    """The files of an uninterrupted run, and how many lake writes it made."""
    from tests.reliability.harness import Pipeline

    smtp = smtp_server.get("plain")
    pipeline = Pipeline(tmp_path_factory.mktemp("reference"), s3_server.env())
    pipeline.configure("bottleneck", lake=kill_lake.url)
    pipeline.configure("smtp", **smtp.smtp_options())
    result = pipeline.run()
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(smtp.received()) == 1
    files = {path: kill_lake.get(path) for path in STABLE}
    kill_lake.clear_derived()
    return files


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_killed_then_rerun_gives_the_same_reports_and_one_email(kill_at, kill_lake, reference, pipeline, smtp_server):
    smtp = smtp_server.get("plain")
    kill_lake.clear_derived()
    pipeline.configure("bottleneck", lake=kill_lake.url)
    pipeline.configure("smtp", **smtp.smtp_options())
    killed = pipeline.run(module="tests.reliability.killer", env={"BOTTLENECK_KILL_AT": kill_at})
    assert killed.returncode == -9, f"not killed at {kill_at}:\n{killed.stdout[-3000:]}"
    assert "reports/2020/08/email.json" not in kill_lake.objects()
    assert smtp.received() == []
    resumed = pipeline.run()
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    differing = [path for path in STABLE if kill_lake.get(path) != reference[path]]
    assert differing == [], "differ from an uninterrupted run's: " + "; ".join(
        f"{path}: {difference(reference[path], kill_lake.get(path))}" for path in differing
    )
    received = smtp.received()
    assert [envelope["rcpt_tos"] for _, envelope in received] == [[READERS]], "expected exactly one email"
