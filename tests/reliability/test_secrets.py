"""Secrets given in the environment (AWS_SECRET_ACCESS_KEY, SMTP_PASSWORD) never reach logs, emails,
reports, lake files or exception messages, whether the run succeeds or fails."""

import base64

import pytest

from bottleneck.demo import synthetic_month
from tests.conftest import SMTP_LOGIN, SMTP_PASSWORD
from tests.reliability.harness import MONTH_DATE

pytestmark = pytest.mark.slow

AWS_SECRET = "aws-Secret-4Qz8-never-in-output-Lp2"


def forms(secret: str) -> list[bytes]:
    """The secret as text and as the base64 that SMTP AUTH and HTTP headers would carry."""
    return [secret.encode(), base64.b64encode(secret.encode()), base64.b64encode(f"\0{SMTP_LOGIN}\0{secret}".encode())]


def test_secrets_from_the_environment_appear_nowhere(lake, pipeline, smtp_server):
    smtp = smtp_server.get("starttls", login=True)
    pipeline.configure("bottleneck", lake=lake.url, smtp_ca_bundle=smtp.ca_bundle)
    pipeline.configure("smtp", **smtp.smtp_options(password="${SMTP_PASSWORD}"))
    env = {"SMTP_PASSWORD": SMTP_PASSWORD, "AWS_SECRET_ACCESS_KEY": AWS_SECRET}
    outputs = []

    ok = pipeline.run(env=env)  # delivered with a login over STARTTLS
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert len(smtp.received()) == 1
    outputs.append(ok.stdout)

    lake.put("raw/2020/08/web.xlsx", lake.get("raw/2020/08/web.xlsx") + b"\0")  # fails: a replaced export
    outputs.append(pipeline.run(env=env).stdout)

    lake.clear_derived()
    lake.put_month(synthetic_month(MONTH_DATE, products=100, seed=3))
    smtp.reject("535 5.7.8 Authentication credentials invalid")  # fails: delivery refused
    refused = pipeline.run(env=env)
    assert refused.returncode == 8, refused.stdout[-3000:]
    outputs.append(refused.stdout)

    smtp.accept()
    wrong = pipeline.run(env={**env, "SMTP_PASSWORD": SMTP_PASSWORD + "-wrong"})  # fails: login refused
    assert wrong.returncode == 8, wrong.stdout[-3000:]
    outputs.append(wrong.stdout)

    places = {f"run {n} output": text.encode() for n, text in enumerate(outputs, start=1)}
    places.update({f"lake {path}": lake.get(path) for path in lake.objects()})
    places.update({f"email {n}": raw for n, raw in enumerate(smtp.raw(), start=1)})
    places.update({f"config {path.name}": path.read_bytes() for path in pipeline.workdir.glob("*.cfg")})
    leaks = [
        (where, secret)
        for where, data in places.items()
        for secret in (*forms(SMTP_PASSWORD), *forms(AWS_SECRET))
        if secret in data
    ]
    assert leaks == []
    assert len(places) > 20
