"""The real task tree, run as a user runs it, on a local lake and on a real S3 server process."""

import signal
import subprocess
import time

import pytest

from tests.months import (
    BIN,
    SOURCES,
    copy_month,
    files_under,
    raw_folder,
    run,
    run_measured,
    run_month,
    write_tiny_month,
)

REPORT_FILES = {
    "report.xlsx",
    "premium_wines.csv",
    "ordinary_wines.csv",
    "rejected_rows.csv",
    "changes.csv",
    "quality.json",
    "email.json",
    "email.eml",
}
ERP_ROW = [1, 1, 10.0, 5, "instock"]


@pytest.fixture
def lake(tmp_path):
    return tmp_path / "lake"


def reports(lake):
    folder = lake / "reports" / "2020" / "08"
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def test_a_month_runs_end_to_end_and_a_rerun_does_nothing(seed_month, lake, tmp_path):
    copy_month(seed_month, lake)
    first = run_month(lake, tmp_path)
    assert first.returncode == 0, first.stderr
    assert reports(lake) == REPORT_FILES
    written = files_under(lake)
    again = run_month(lake, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "1 complete ones were encountered" in again.stderr
    assert "ran successfully" not in again.stderr
    assert files_under(lake) == written


def test_every_missing_or_empty_export_is_named_at_once(lake, tmp_path):
    folder = raw_folder(lake)
    (folder / "web.xlsx").write_bytes(b"")
    result = run_month(lake, tmp_path)
    assert result.returncode == 3
    assert "2020-08: raw exports not ready" in result.stderr
    for problem in (
        "missing " + str(folder / "erp.xlsx"),
        "missing " + str(folder / "liaison.xlsx"),
        "empty " + str(folder / "web.xlsx"),
    ):
        assert problem in result.stderr
    assert not (lake / "staging").exists()
    assert reports(lake) == set()


BAD_INPUTS = {
    "not-xlsx": (b"product_id;price\n1;10\n", "2020-08 erp.xlsx: not an xlsx workbook"),
    "truncated": (None, "2020-08 erp.xlsx: not an xlsx workbook (not a zip archive, or one cut short)"),
    "missing-column": ("price", "2020-08 erp.xlsx: no sheet has a header with column(s) price"),
    "wrong-type": (
        "stock",
        "2020-08 erp.xlsx: column 'stock_quantity' breaks rule 'type('Int64')': 'beaucoup' (row 2)",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_names_file_column_and_rule_and_writes_no_report(case, lake, tmp_path):
    from bottleneck.demo import ERP_COLUMNS, xlsx_bytes

    folder = write_tiny_month(lake, [ERP_ROW], [["101", 3, "product", "A"]], [[1, "101"]])
    content, message = BAD_INPUTS[case]
    if case == "truncated":
        content = (folder / "erp.xlsx").read_bytes()[:-300]
    elif case == "missing-column":
        content = xlsx_bytes([c for c in ERP_COLUMNS if c != "price"], [[1, 1, 5, "instock"]])
    elif case == "wrong-type":
        content = xlsx_bytes(ERP_COLUMNS, [[1, 1, 10.0, "beaucoup", "instock"]])
    (folder / "erp.xlsx").write_bytes(content)
    result = run_month(lake, tmp_path)
    assert result.returncode == 6, result.stderr
    assert message in result.stderr
    assert reports(lake) == set()


def test_the_plain_luigi_command_exits_non_zero_on_failure_from_any_folder(lake, tmp_path):
    raw_folder(lake)
    result = run(
        ["--module", "bottleneck", "RunMonth", "--month", "2020-08", "--local-scheduler"],
        lake,
        tmp_path,
        command="luigi",
    )
    assert result.returncode == 3, result.stderr  # Luigi's missing_data code, as set by the package
    assert "raw exports not ready" in result.stderr


def test_a_month_with_no_products_fails_the_gate_instead_of_reporting_zero(lake, tmp_path):
    write_tiny_month(lake, [], [], [])
    result = run_month(lake, tmp_path)
    assert result.returncode == 7, result.stderr
    assert "the month has products: observed 0, expected at least 1" in result.stderr
    assert reports(lake) == set()


def test_a_month_with_one_product(lake, tmp_path):
    write_tiny_month(
        lake, [ERP_ROW], [["101", 3, "product", "Mas Amiel 2015"], ["101", None, "attachment", None]], [[1, "101.0"]]
    )
    result = run_month(lake, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (lake / "reports/2020/08/ordinary_wines.csv").read_text().splitlines()
    assert lines[1] == "1,101,Mas Amiel 2015,10.00,3,30.00,,5,instock"
    assert (lake / "reports/2020/08/premium_wines.csv").read_text().count("\n") == 1


def test_a_run_killed_midway_leaves_no_report_and_the_rerun_resumes(seed_month, lake, tmp_path):
    copy_month(seed_month, lake)
    environment = dict(__import__("os").environ, BOTTLENECK_LAKE=str(lake))
    process = subprocess.Popen(
        [str(BIN / "bottleneck-run"), "RunMonth", "--month", "2020-08", "--local-scheduler"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    staged = lake / "staging/2020/08/web.parquet"
    deadline = time.monotonic() + 120
    while not staged.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert staged.exists(), "the run ended before it could be killed"
    assert not (lake / "reports/2020/08/quality.json").exists()
    before = files_under(lake / "staging")
    resumed = run_month(lake, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert reports(lake) == REPORT_FILES
    assert all(
        files_under(lake / "staging")[name] == mtime
        for name, mtime in before.items()
        if not name.rsplit("/", 1)[-1].count("luigi-tmp")
    ), "a finished task ran again"


def test_a_month_on_s3(seed_month, s3_server, tmp_path):
    client = s3_server.client()
    client.create_bucket(Bucket="wine-lake")
    for name in ("erp", "web", "liaison"):
        client.upload_file(str(seed_month / f"{name}.xlsx"), "wine-lake", f"bottleneck/raw/2020/08/{name}.xlsx")
    result = run_month("s3://wine-lake/bottleneck", tmp_path, env=s3_server.env())
    assert result.returncode == 0, result.stderr
    listing = client.list_objects_v2(Bucket="wine-lake", Prefix="bottleneck/reports/2020/08/")
    assert {item["Key"].rsplit("/", 1)[1] for item in listing["Contents"]} == REPORT_FILES
    body = client.get_object(Bucket="wine-lake", Key="bottleneck/reports/2020/08/quality.json")["Body"].read()
    assert b'"products": 714' in body
    assert b'"turnover": 70568.6' in body
    assert not list(tmp_path.glob("**/*.parquet")), "an S3 run wrote intermediates outside the lake"


OVERSIZE_BYTES = 300 * 10**6


def sparse_file(path) -> None:
    with open(path, "wb") as file:  # 300 MB of holes: costs no disk, reads as zeros
        file.truncate(OVERSIZE_BYTES)


def refused_for_size(lake, tmp_path, put_oversize_web, env: dict | None = None) -> tuple[float, float]:
    """Peak RSS (MB) of a month refused for an export over max_file_mb: first the real month with the limit
    at 0.001 MB (the baseline), then with web.xlsx replaced by `put_oversize_web()` under the default limit."""
    limited = tmp_path / "limited.cfg"
    limited.write_text("[bottleneck]\nmax_file_mb = 0.001\n")
    cases = (
        (limited, "2020-08 erp.xlsx: 0.0 MB is over the 0.001 MB limit; rule 'max_file_mb'"),
        (tmp_path / "absent.cfg", "2020-08 web.xlsx: 300.0 MB is over the 200 MB limit; rule 'max_file_mb'"),
    )
    peaks: list[float] = []
    for config, refusal in cases:
        if peaks:
            put_oversize_web()
        result, peak = run_measured(
            ["RunMonth", "--month", "2020-08", "--local-scheduler"],
            lake,
            tmp_path,
            env={**(env or {}), "LUIGI_CONFIG_PATH": str(config)},
        )
        assert result.returncode == 6, result.stderr[-3000:]
        assert refusal in result.stderr, result.stderr[-3000:]
        peaks.append(peak)
    baseline, peak = peaks
    print(f"peak RSS refusing: a 17 kB export {baseline:.0f} MB, a 300 MB one {peak:.0f} MB")
    assert peak < baseline + 30, f"{peak:.0f} MB: the export was read ({baseline:.0f} MB without it)"
    assert peak < 300, f"{peak:.0f} MB: the export was read ({baseline:.0f} MB without it)"
    return baseline, peak


def test_a_300_mb_export_is_refused_by_its_size_before_it_is_read(seed_month, lake, tmp_path):
    folder = copy_month(seed_month, lake)
    refused_for_size(lake, tmp_path, lambda: sparse_file(folder / "web.xlsx"))
    # Nothing of the month itself is written (the figures of the months before, with no exports, are).
    assert not (lake / "work" / "2020" / "08").exists()
    assert not (lake / "staging").exists()


@pytest.mark.slow
def test_a_300_mb_export_on_s3_is_refused_by_its_size_before_it_is_read(seed_month, s3_server, tmp_path):
    client = s3_server.client()
    client.create_bucket(Bucket="oversize-lake")
    for name in SOURCES:
        client.upload_file(str(seed_month / f"{name}.xlsx"), "oversize-lake", f"bottleneck/raw/2020/08/{name}.xlsx")
    sparse_file(tmp_path / "web.xlsx")
    try:
        refused_for_size(
            "s3://oversize-lake/bottleneck",
            tmp_path,
            env=s3_server.env(),
            put_oversize_web=lambda: client.upload_file(
                str(tmp_path / "web.xlsx"), "oversize-lake", "bottleneck/raw/2020/08/web.xlsx"
            ),
        )
        listing = client.list_objects_v2(Bucket="oversize-lake", Prefix="bottleneck/")["Contents"]
        assert not [
            item["Key"] for item in listing if not item["Key"].startswith(("bottleneck/raw/", "bottleneck/alerts/"))
        ]
    finally:  # the server keeps objects in memory for the whole session
        for item in client.list_objects_v2(Bucket="oversize-lake")["Contents"]:
            client.delete_object(Bucket="oversize-lake", Key=item["Key"])
