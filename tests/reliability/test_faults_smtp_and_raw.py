"""SMTP down: the reports are kept and a re-run sends only the email. A raw export replaced after its
month ran: refused by its recorded sha256, never mixed with the month's outputs; re-processing on purpose."""

import pytest

from tests.months import corrected_export
from tests.reliability.harness import READERS, REPORT_FILES

pytestmark = pytest.mark.slow


def ran(output: str) -> list[str]:
    """The tasks a run's Luigi summary lists as run successfully."""
    lines = output.split("ran successfully:", 1)[1].split("\n* ", 1)[0].split("This progress", 1)[0]
    return sorted(
        line.strip().split(" ", 2)[2].split("(")[0] for line in lines.splitlines() if line.strip().startswith("- ")
    )


def test_smtp_down_keeps_the_reports_and_a_rerun_sends_only_the_email(lake, pipeline, smtp_server):
    smtp = smtp_server.get("plain")
    pipeline.configure("bottleneck", lake=lake.url)
    pipeline.configure("smtp", **smtp.smtp_options())
    smtp.stop()
    failed = pipeline.run()
    assert failed.returncode == 8, failed.stdout[-3000:]  # DeliveryError
    objects = lake.objects()
    assert {f"reports/2020/08/{name}" for name in REPORT_FILES} <= objects.keys()
    assert "reports/2020/08/email.json" not in objects
    smtp.start()
    resumed = pipeline.run()
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert ran(resumed.stdout) == ["MonthEmail", "RunMonth"]  # RunMonth only wraps it
    after = lake.objects()
    assert all(
        after[path]["ETag"] == head["ETag"] and after[path]["LastModified"] == head["LastModified"]
        for path, head in objects.items()
    ), "a stored file was written again"
    received = smtp.received()
    assert [envelope["rcpt_tos"] for _, envelope in received] == [[READERS]]
    assert "email.json" in str(after.keys())


def replaced(data: bytes) -> bytes:
    """The same workbook with every sale of one product doubled: a corrected export."""
    return corrected_export(data, "total_sales", lambda sales: sales * 2)


def test_a_raw_export_replaced_after_its_month_ran_is_refused_until_reprocessed_on_purpose(lake, pipeline):
    pipeline.configure("bottleneck", lake=lake.url)
    first = pipeline.run()
    assert first.returncode == 0, first.stdout[-3000:]
    before = lake.objects()
    old_report = lake.reports()
    lake.put("raw/2020/08/web.xlsx", replaced(lake.get("raw/2020/08/web.xlsx")))

    refused = pipeline.run()
    assert refused.returncode == 6, refused.stdout[-3000:]  # InvalidInputError
    assert "raw export replaced after the month was processed" in refused.stdout
    assert f"{lake.url}/raw/2020/08/web.xlsx is now sha256" in refused.stdout
    after = lake.objects()
    assert {path: head["ETag"] for path, head in after.items() if not path.startswith(("raw/", "alerts/"))} == {
        path: head["ETag"] for path, head in before.items() if not path.startswith("raw/")
    }, "an output changed"
    assert len([path for path in after if path.endswith("email.eml")]) == 1, "the month was emailed again"

    # Re-processing on purpose, as the README says: the month's derived folders set aside, then a run.
    for path in after:
        if path.startswith(("staging/2020/08/", "work/2020/08/", "reports/2020/08/")):
            if path.startswith("reports/"):
                lake.put(path.replace("reports/", "superseded/2020-08-first/", 1), lake.get(path))
            lake.client.delete_object(Bucket=lake.bucket, Key=lake.key(path))
    reprocessed = pipeline.run()
    assert reprocessed.returncode == 0, reprocessed.stdout[-3000:]
    new_report = lake.reports()
    assert new_report["quality.json"] != old_report["quality.json"], "the corrected export was not used"
    assert lake.get("superseded/2020-08-first/2020/08/quality.json") == old_report["quality.json"]


def test_a_raw_export_replaced_in_the_middle_of_a_month_is_not_mixed_with_its_staged_tables(lake, pipeline):
    pipeline.configure("bottleneck", lake=lake.url)
    killed = pipeline.run(module="tests.reliability.killer", env={"BOTTLENECK_KILL_AT": "start:ClassifiedWines"})
    assert killed.returncode == -9
    lake.put("raw/2020/08/web.xlsx", replaced(lake.get("raw/2020/08/web.xlsx")))
    refused = pipeline.run()
    assert refused.returncode == 6, refused.stdout[-3000:]
    assert not any(path.startswith(("reports/", "work/2020/08/classified")) for path in lake.objects())
