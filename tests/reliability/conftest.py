"""Fixtures of the fault-injection suite: a month in a loopback S3 lake, pipeline runs as real processes."""

import uuid

import pytest

from tests.reliability.harness import MONTH_DATE, PRODUCTS, Lake, Pipeline, Proxy


@pytest.fixture(scope="session")
def month_exports() -> dict[str, bytes]:
    """A small synthetic month with every quirk of the real exports, the same in every test."""
    from bottleneck.demo import synthetic_month

    return synthetic_month(MONTH_DATE, products=PRODUCTS, seed=7)


@pytest.fixture
def lake(s3_server, month_exports):
    """A fresh bucket with the month's raw exports in place."""
    bucket = Lake(s3_server, f"lake-{uuid.uuid4().hex[:12]}")
    bucket.put_month(month_exports)
    return bucket


@pytest.fixture
def proxy(s3_server):
    front = Proxy(s3_server.port)
    front.start()
    yield front
    front.stop()


@pytest.fixture
def pipeline(tmp_path, s3_server):
    return Pipeline(tmp_path, s3_server.env())
