"""Every way the lake can be unusable exits 9, with a message naming the lake and what to fix: against
real S3 server processes (moto), one of which checks credentials, and a local folder that cannot be written."""

import os
import subprocess

import pytest

from tests.conftest import S3Server, free_port
from tests.months import run_month, write_tiny_month

ERP_ROW = [1, 1, 10.0, 5, "instock"]
# No credential from the machine running the tests: no shared files, no instance metadata.
NO_MACHINE_CREDENTIALS = {
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class CheckingS3Server(S3Server):
    """A moto server that authenticates every request: unknown keys get HTTP 403."""

    def environment(self) -> dict:
        return dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0")


@pytest.fixture(scope="module")
def checking_s3_server():
    server = CheckingS3Server(free_port())
    server.start()
    yield server
    server.stop()


def assert_lake_unusable(result, lake: str, *fix: str) -> None:
    assert result.returncode == 9, result.stderr[-3000:]
    message = next(line for line in result.stderr.splitlines() if f"lake {lake} unusable" in line)
    for words in fix:
        assert words in message, message
    assert "Traceback" not in message


def test_a_bucket_that_does_not_exist_exits_9_naming_it(s3_server, tmp_path):
    result = run_month("s3://no-such-bucket/bottleneck", tmp_path, env=s3_server.env())
    assert_lake_unusable(
        result,
        "s3://no-such-bucket/bottleneck",
        "bucket 'no-such-bucket' does not exist",
        "create the bucket",
        "[bottleneck] lake",
    )


def test_no_credentials_exits_9_saying_which_to_give(s3_server, tmp_path):
    s3_server.client().create_bucket(Bucket="no-credentials")
    env = {**NO_MACHINE_CREDENTIALS, "AWS_ENDPOINT_URL": s3_server.endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    result = run_month("s3://no-credentials/bottleneck", tmp_path, env=env)
    assert_lake_unusable(
        result, "s3://no-credentials/bottleneck", "no AWS credentials found", "web-identity role", "AWS_ACCESS_KEY_ID"
    )


def test_refused_access_exits_9_saying_which_rights_to_give(checking_s3_server, tmp_path):
    env = {**checking_s3_server.env(), **NO_MACHINE_CREDENTIALS, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWN0000000000"}
    result = run_month("s3://wine-lake/bottleneck", tmp_path, env=env)
    assert_lake_unusable(result, "s3://wine-lake/bottleneck", "access refused (HTTP 403", "s3:GetObject")
    assert env["AWS_SECRET_ACCESS_KEY"] not in result.stderr + result.stdout


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody may write into, root included (root ignores modes: the immutable flag stops it)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o500)
    yield folder
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o700)


def test_a_local_lake_that_cannot_be_written_exits_9(tmp_path, read_only_folder):
    lake = tmp_path / "lake"
    write_tiny_month(lake, [ERP_ROW], [["101", 3, "product", "A"]], [[1, "101"]])
    (lake / "work").symlink_to(read_only_folder)
    result = run_month(lake, tmp_path)
    assert_lake_unusable(result, str(lake), "on " + str(lake / "work"), "writable folder")
