"""The plain manifests (kubectl kustomize k8s/) and the chart (helm template), validated against the
Kubernetes schemas and checked on the fields that decide whether the monthly run works and is safe."""

import configparser
import json
import re
import shutil

import pytest

from tests.deploy.conftest import CHART, HERE, K8S, REPO, REQUIRED, find, objects, run
from tests.months import run as run_command

PRODUCTION = HERE / "values-production.yaml"


def luigi_cfg(configmap: dict, key: str = "luigi.cfg") -> configparser.ConfigParser:
    # No interpolation: ${SMTP_PASSWORD} must stay as written, for Luigi to read from the environment.
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(configmap["data"][key])
    return parser


def container(pod_template: dict, name: str = "bottleneck") -> dict:
    return next(c for c in pod_template["spec"]["containers"] if c["name"] == name)


def env_of(c: dict) -> dict:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in c.get("env", [])}


def mounted_volume(pod_template: dict, c: dict, path: str) -> dict:
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == path)
    return next(v for v in pod_template["spec"]["volumes"] if v["name"] == mount["name"])


def assert_hardened(pod_template: dict, c: dict) -> None:
    pod = pod_template["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["runAsUser"] == 10001
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert not sc["capabilities"].get("add")
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "emptyDir" in mounted_volume(pod_template, c, "/tmp"), "/tmp must be a writable emptyDir"
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][bound]), f"{bound} missing"


def check_worker_pod(docs: list[dict], pod_template: dict, secret_name: str) -> configparser.ConfigParser:
    """A pod that runs the pipeline: hardened, luigi.cfg mounted where LUIGI_CONFIG_PATH says, the
    secrets referenced by name; returns the luigi.cfg it reads."""
    spec = pod_template["spec"]
    c = container(pod_template)
    assert spec["restartPolicy"] == "Never"
    assert_hardened(pod_template, c)
    env = env_of(c)
    config_path = env["LUIGI_CONFIG_PATH"]
    folder, _, filename = config_path.rpartition("/")
    volume = mounted_volume(pod_template, c, folder)
    configmap = find(docs, "ConfigMap")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    item = next(i for i in volume["configMap"]["items"] if i["path"] == filename)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        ref = env[name]["secretKeyRef"]
        assert ref == {"name": secret_name, "key": name, "optional": True}, "AWS keys: optional, web identity works"
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    if accounts:
        assert spec["serviceAccountName"] == accounts[0]["metadata"]["name"]
    cfg = luigi_cfg(configmap, item["key"])
    if cfg.has_option("smtp", "username"):
        assert cfg.get("smtp", "password") == "${SMTP_PASSWORD}", "the SMTP password comes from the environment"
        assert env["SMTP_PASSWORD"]["secretKeyRef"] == {"name": secret_name, "key": "SMTP_PASSWORD"}
    assert "SMTP_PASSWORD" not in configmap["data"][item["key"]].replace("${SMTP_PASSWORD}", "")
    return cfg


def check_cronjob(docs, *, schedule, time_zone, secret_name, scheduler, image) -> configparser.ConfigParser:
    cron = find(docs, "CronJob")
    spec = cron["spec"]
    assert spec["schedule"] == schedule
    assert spec["timeZone"] == time_zone
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1
    assert spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 0
    assert job["activeDeadlineSeconds"] > 0
    assert job["ttlSecondsAfterFinished"] > 0
    rule = job["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob"
    assert {3, 6, 7, 10} <= set(rule["onExitCodes"]["values"])
    c = container(job["template"])
    assert c["image"] == image
    assert c["command"] == ["bottleneck-run", "RunMonth"], "the current month, nothing pinned"
    assert not c.get("args"), "the current month, nothing pinned"
    cfg = check_worker_pod(docs, job["template"], secret_name)
    assert cfg.get("bottleneck", "timezone") == time_zone, "the month and the schedule share one time zone"
    assert cfg.get("bottleneck", "delivery") == "smtp", "a production run sends its report, or refuses to start"
    assert cfg.get("smtp", "host"), "delivery = smtp needs a host"
    if scheduler is None:
        assert cfg.getboolean("core", "local_scheduler")
        assert not cfg.has_option("core", "scheduler_host")
    else:
        assert (cfg.get("core", "scheduler_host"), cfg.getint("core", "scheduler_port")) == scheduler
    return cfg


def check_luigid(docs: list[dict], *, image: str) -> None:
    """luigid: its own image; the workers' scheduler_host is its Service; state and history on its PVC;
    metrics on."""
    service, deployment = find(docs, "Service", "scheduler"), find(docs, "Deployment", "scheduler")
    cfg = luigi_cfg(find(docs, "ConfigMap"))
    assert cfg.get("core", "scheduler_host") == service["metadata"]["name"]
    port = service["spec"]["ports"][0]
    assert cfg.getint("core", "scheduler_port") == port["port"]
    template = deployment["spec"]["template"]
    assert all(template["metadata"]["labels"].get(k) == v for k, v in service["spec"]["selector"].items())
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    c = container(template, "luigid")
    assert c["image"] == image
    assert_hardened(template, c)
    command = c["command"]
    assert command[0] == "luigid"
    assert command[command.index("--port") + 1] == str(c["ports"][0]["containerPort"])
    state_path = command[command.index("--state-path") + 1]
    state_volume = mounted_volume(template, c, state_path.rpartition("/")[0])
    pvc = find(docs, "PersistentVolumeClaim", "scheduler")
    assert state_volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["port"] in ("http", c["ports"][0]["containerPort"])
    folder = env_of(c)["LUIGI_CONFIG_PATH"].rpartition("/")[0]
    config_volume = mounted_volume(template, c, folder)
    luigid_cfg = luigi_cfg(find(docs, "ConfigMap"), config_volume["configMap"]["items"][0]["key"])
    assert luigid_cfg.getboolean("scheduler", "record_task_history")
    assert luigid_cfg.get("scheduler", "metrics_collector") == "prometheus"
    assert (
        luigid_cfg.get("task_history", "db_connection") == f"sqlite:///{state_path.rpartition('/')[0]}/task-history.db"
    )


def selects(selector: dict, labels: dict) -> bool:
    """Whether a Kubernetes label selector (matchLabels, matchExpressions In/NotIn/Exists) selects these labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
    return True


def admitted(policy: dict, pod_template: dict) -> bool:
    """Whether a pod of this template, in the policy's namespace, may connect under the policy's ingress rules."""
    labels = pod_template["metadata"]["labels"]
    return any(
        set(peer) == {"podSelector"} and selects(peer["podSelector"], labels)
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
    )


def check_luigid_guarded(docs: list[dict], workers: list[dict]) -> dict:
    """luigid runs as its own ServiceAccount, with no cloud role; its NetworkPolicy admits the pipeline's pods
    (`workers`: their pod templates) to its port and no other pod. Returns the policy."""
    deployment = find(docs, "Deployment", "scheduler")
    template = deployment["spec"]["template"]
    account = next(
        d
        for d in docs
        if d["kind"] == "ServiceAccount" and d["metadata"]["name"] == template["spec"]["serviceAccountName"]
    )
    assert not account["metadata"].get("annotations"), "luigid's ServiceAccount must carry no cloud role"
    assert account["automountServiceAccountToken"] is False
    assert template["spec"]["automountServiceAccountToken"] is False
    for worker in workers:
        assert worker["spec"]["serviceAccountName"] != account["metadata"]["name"], "luigid shares the S3 identity"
    policy = find(docs, "NetworkPolicy")
    assert selects(policy["spec"]["podSelector"], template["metadata"]["labels"])
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert [port["port"] for port in rule["ports"]] == [container(template, "luigid")["ports"][0]["name"]]
    for worker in workers:
        assert admitted(policy, worker), worker["metadata"]["labels"]
    for labels in (
        {"app.kubernetes.io/name": "bottleneck"},
        {"app": "anything-else"},
        {**template["metadata"]["labels"], "app.kubernetes.io/component": "web"},
    ):
        assert not admitted(policy, {"metadata": {"labels": labels}}), labels
    return policy


def check_backfill(docs, job: dict, *, start, stop, parallelism, workers, secret_name) -> None:
    assert job["spec"]["parallelism"] == parallelism
    command = container(job["spec"]["template"])["command"]
    assert command[:4] == ["bottleneck-run", "RangeMonthly", "--of", "RunMonth"]
    options = dict(zip(command[4::2], command[5::2], strict=True))
    assert (options["--start"], options["--stop"], options["--workers"]) == (start, stop, str(workers))
    cfg = check_worker_pod(docs, job["spec"]["template"], secret_name)
    assert cfg.has_option("core", "scheduler_host"), "backfill pods share the months through the central scheduler"


# ------------------------------------------------------------------------- plain manifests


@pytest.fixture(scope="module")
def kustomized(kubectl):
    text = run([kubectl, "kustomize", str(K8S)]).stdout
    return objects(text), text


def test_kustomization_is_valid_kubernetes(kustomized, validate):
    validate(kustomized[1])
    validate(kustomized[1], version="1.29.0")


def test_kustomized_cronjob_runs_the_month_hardened_against_luigid(kustomized):
    docs, text = kustomized
    # No Secret is applied: a real one is never overwritten, no placeholder key shadows the web identity.
    assert not [doc for doc in docs if doc["kind"] == "Secret"]
    assert "change-me" not in text
    assert all(doc["metadata"]["namespace"] == "bottleneck" for doc in docs)
    check_cronjob(
        docs,
        schedule="0 9 15 * *",
        time_zone="Europe/Paris",
        secret_name="bottleneck-secrets",
        scheduler=("bottleneck-luigid", 8082),
        image="ghcr.io/example/bottleneck:1.0.0",
    )
    check_luigid(docs, image="ghcr.io/example/bottleneck-luigid:1.0.0")


def test_kustomized_luigid_has_its_own_identity_and_admits_only_the_pipeline(kubectl, kustomized):
    docs, _ = kustomized
    (job,) = objects(run([kubectl, "kustomize", str(K8S / "backfill")]).stdout)
    cron = find(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]
    check_luigid_guarded(docs, [cron, job["spec"]["template"]])


def test_serviceaccount_shows_the_web_identity_annotation_commented():
    text = (K8S / "serviceaccount.yaml").read_text()
    assert "#   eks.amazonaws.com/role-arn:" in text


def test_kustomized_backfill_job_is_valid_and_uses_the_central_scheduler(kubectl, kustomized, validate):
    text = run([kubectl, "kustomize", str(K8S / "backfill")]).stdout
    validate(text)
    (job,) = objects(text)
    docs = kustomized[0] + [job]
    assert job["metadata"]["namespace"] == "bottleneck"
    check_backfill(
        docs, job, start="2025-01", stop="2026-01", parallelism=3, workers=1, secret_name="bottleneck-secrets"
    )


# ------------------------------------------------------------------------- chart


def test_chart_lints_strictly_with_the_required_value_and_production_values(helm):
    helm("lint", "--strict", str(CHART), "--values", str(REQUIRED))
    helm("lint", "--strict", str(CHART), "--values", str(PRODUCTION))
    helm("lint", "--strict", str(CHART), "--set", "delivery=lake")


def test_chart_defaults_refuse_to_render_without_an_smtp_host_naming_it(helm):
    for command in ("lint", "template"):
        result = helm(command, str(CHART), check=False)
        assert result.returncode != 0, result.stdout
        assert "smtp.host: String length must be greater than or equal to 1" in result.stdout + result.stderr


def test_chart_installed_past_its_schema_fails_helm_test_and_every_run_naming_smtp_host(helm, tmp_path):
    """`helm install --skip-schema-validation` with the defaults: the helm test pod's `bottleneck-admin check`
    and the CronJob's `bottleneck-run RunMonth`, run with the rendered luigi.cfg, both refuse, naming smtp.host."""
    docs = objects(helm("template", "x", str(CHART), "--skip-schema-validation").stdout)
    cron = find(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]
    test_pod = next(d for d in docs if d["kind"] == "Pod")
    config = tmp_path / "luigi.cfg"
    config.write_text(find(docs, "ConfigMap")["data"]["luigi.cfg"])
    env = {"LUIGI_CONFIG_PATH": str(config)}
    for command in (container(test_pod)["command"], container(cron)["command"]):
        result = run_command(command[1:], tmp_path / "lake", tmp_path, env, command=command[0])
        assert result.returncode == 10, result.stdout + result.stderr
        assert "[smtp] host is empty (Helm chart: smtp.host)" in result.stdout + result.stderr, command


def test_chart_default_rendering_is_valid_and_matches_the_plain_manifests(render_chart, validate):
    docs, text = render_chart()
    validate(text)
    validate(text, version="1.29.0")
    # The chart creates no Secret until it is given a value for one; the refs stay optional.
    assert not [d for d in docs if d["kind"] == "Secret"]
    cfg = check_cronjob(
        docs,
        schedule="0 9 15 * *",
        time_zone="Europe/Paris",
        secret_name="bottleneck",
        scheduler=("bottleneck-luigid", 8082),
        image="ghcr.io/example/bottleneck:1.0.0",
    )
    assert cfg.get("bottleneck", "lake") == "s3://bottleneck-lake/reports"
    check_luigid(docs, image="ghcr.io/example/bottleneck-luigid:1.0.0")
    assert not [d for d in docs if d["kind"] == "Job" and "helm.sh/hook" not in d["metadata"].get("annotations", {})]


def test_chart_runs_luigid_from_its_own_image_and_the_pipeline_from_its_own(render_chart):
    docs, _ = render_chart(
        sets={
            "image.tag": "2.0.0",
            "scheduler.image.repository": "registry.example.org/luigid",
            "scheduler.image.tag": "2.0.1",
            "scheduler.image.pullPolicy": "Always",
        }
    )
    luigid = container(find(docs, "Deployment", "scheduler")["spec"]["template"], "luigid")
    assert (luigid["image"], luigid["imagePullPolicy"]) == ("registry.example.org/luigid:2.0.1", "Always")
    report = container(find(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"])
    assert (report["image"], report["imagePullPolicy"]) == ("ghcr.io/example/bottleneck:2.0.0", "IfNotPresent")


def test_chart_luigid_has_its_own_identity_and_a_network_policy_by_default(render_chart, validate):
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    docs, text = render_chart(
        sets={
            "backfill.enabled": True,
            "networkPolicy.extraFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name": "monitoring",
        }
    )
    validate(text)
    workers = [
        find(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"],
        next(d for d in docs if d["kind"] == "Job")["spec"]["template"],
        {
            "metadata": next(d for d in docs if d["kind"] == "Pod")["metadata"],
            "spec": next(d for d in docs if d["kind"] == "Pod")["spec"],
        },
    ]
    policy = check_luigid_guarded(docs, workers)
    assert policy["spec"]["ingress"][0]["from"][1:] == [peer], "networkPolicy.extraFrom is admitted too"
    # Another release's pipeline in the namespace is not admitted.
    other = {"metadata": {"labels": {**workers[0]["metadata"]["labels"], "app.kubernetes.io/instance": "other"}}}
    assert not admitted(policy, other)

    docs, text = render_chart(sets={"networkPolicy.enabled": False})
    validate(text)
    assert not [d for d in docs if d["kind"] == "NetworkPolicy"]
    docs, _ = render_chart(sets={"scheduler.enabled": False})
    assert not [d for d in docs if d["kind"] == "NetworkPolicy"]
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"] == ["bottleneck"]


def test_chart_production_values_reach_every_field(render_chart, validate):
    docs, text = render_chart(PRODUCTION, release="wine")
    validate(text)
    assert not [d for d in docs if d["kind"] in ("Secret", "Deployment", "PersistentVolumeClaim", "Service")]
    cfg = check_cronjob(
        docs,
        schedule="30 6 1 * *",
        time_zone="America/New_York",
        secret_name="wine-reports-credentials",
        scheduler=("luigid.ops.svc.cluster.local", 8099),
        image="registry.example.org/wine/bottleneck:2.3.4",
    )
    assert dict(cfg["bottleneck"]) == {
        "lake": "s3://prod-wine-lake/monthly",
        "delivery": "smtp",
        "timezone": "America/New_York",
        "alert_receivers": "oncall@example.org",
        "premium_zscore": "2.5",
        "smtp_ca_bundle": "/etc/bottleneck-ca/ca.pem",
    }
    assert dict(cfg["smtp"]) == {
        "host": "mail.example.org",
        "port": "465",
        "ssl": "true",
        "no_tls": "false",
        "timeout": "20",
        "username": "reports@example.org",
        "password": "${SMTP_PASSWORD}",
    }
    assert dict(cfg["email"]) == {"sender": "reports@example.org", "receiver": "ceo@example.org, sales@example.org"}
    cron = find(docs, "CronJob")
    assert cron["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"] == [
        3,
        6,
        7,
        8,
        10,
    ]
    c = container(cron["spec"]["jobTemplate"]["spec"]["template"])
    assert c["imagePullPolicy"] == "Always"
    assert c["resources"]["limits"] == {"cpu": "4", "memory": "6Gi"}
    env = env_of(c)
    assert env["AWS_ENDPOINT_URL"] == "https://minio.storage.svc:9000"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    account = find(docs, "ServiceAccount")
    assert account["metadata"]["name"] == "wine-reports"
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/wine-reports"
    }
    job = next(d for d in docs if d["kind"] == "Job" and "helm.sh/hook" not in d["metadata"].get("annotations", {}))
    assert job["metadata"]["name"] == "wine-bottleneck-backfill-2023-04-2024-04"
    check_backfill(
        docs, job, start="2023-04", stop="2024-04", parallelism=4, workers=2, secret_name="wine-reports-credentials"
    )


def test_chart_without_any_scheduler_runs_with_the_local_one(render_chart, validate):
    docs, text = render_chart(sets={"scheduler.enabled": False})
    validate(text)
    check_cronjob(
        docs,
        schedule="0 9 15 * *",
        time_zone="Europe/Paris",
        secret_name="bottleneck",
        scheduler=None,
        image="ghcr.io/example/bottleneck:1.0.0",
    )


def test_chart_creates_the_secret_from_values_when_no_existing_secret_is_named(render_chart):
    docs, _ = render_chart(
        sets={"smtp.host": "smtp.example.com", "smtp.username": "me@example.com", "secretValues.smtpPassword": "s3cret"}
    )
    secret = find(docs, "Secret")
    assert secret["stringData"] == {"SMTP_PASSWORD": "s3cret"}
    assert "s3cret" not in str(find(docs, "ConfigMap")) + str(find(docs, "CronJob"))
    env = env_of(container(find(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]))
    assert env["SMTP_PASSWORD"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": "SMTP_PASSWORD"}


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"smtp.tls": "maybe"}, "smtp.tls"),
        ({"backfill.start": "2025-13"}, "backfill.start"),
        ({"schedule": "every month"}, "schedule"),
        ({"email.recipients[0]": "not-an-address"}, "email.recipients"),
        ({"sheduler.enabled": False}, "sheduler"),
        ({"smtp.host": "smtp.example.com", "smtp.username": "me@example.com"}, "SMTP_PASSWORD"),
        ({"smtp.host": ""}, "smtp.host: String length must be greater than or equal to 1"),
        ({"email.recipients": []}, "email.recipients: Array must have at least 1 items"),
        ({"alertRecipients": []}, "alertRecipients: Array must have at least 1 items"),
        ({"delivery": "email"}, "delivery"),
    ],
)
def test_chart_refuses_wrong_values_with_a_message_naming_them(helm, sets, message):
    args = ["template", "x", str(CHART), "--values", str(REQUIRED)]
    for key, value in sets.items():
        if isinstance(value, list):
            args += ["--set-json", f"{key}={json.dumps(value)}"]
        else:
            args += ["--set-string" if isinstance(value, str) else "--set", f"{key}={value}"]
    result = helm(*args, check=False)
    assert result.returncode != 0, result.stderr
    assert message in result.stderr, result.stderr


def test_chart_with_lake_delivery_needs_no_smtp_host_and_renders_no_smtp_section(helm):
    rendered = helm("template", "x", str(CHART), "--set", "delivery=lake", "--set-json", "email.recipients=[]")
    cfg = luigi_cfg(find(objects(rendered.stdout), "ConfigMap"))
    assert cfg.get("bottleneck", "delivery") == "lake"
    assert not cfg.has_section("smtp")


def test_helm_test_pod_checks_the_cronjob_configuration_from_its_image(render_chart):
    docs, _ = render_chart(PRODUCTION)
    test_pod = next(d for d in docs if d["kind"] == "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    cron_pod = find(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]
    c, cron = container(test_pod), container(cron_pod)
    for field in ("image", "env", "volumeMounts", "securityContext"):
        assert c[field] == cron[field], f"the test pod differs from the CronJob in {field}"
    assert test_pod["spec"]["volumes"] == cron_pod["spec"]["volumes"]
    assert c["command"] == ["bottleneck-admin", "check"]  # tests/test_admin.py runs it against real servers


def test_notes_tell_how_to_run_a_month_by_hand(helm, tmp_path):
    # helm renders NOTES.txt only when installing, which needs a cluster: render a copy as a template.
    chart = tmp_path / "bottleneck"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "NOTES.txt").rename(chart / "notes.txt")
    (chart / "templates" / "notes.yaml").write_text('notes: {{ tpl (.Files.Get "notes.txt") . | toJson }}\n')
    rendered = helm(
        "template",
        "wine",
        str(chart),
        "--namespace",
        "reports",
        "--show-only",
        "templates/notes.yaml",
        "--values",
        str(REQUIRED),
    )
    notes = objects(rendered.stdout)[0]["notes"]
    assert "mail:   smtp.example.com:587 (starttls) -> direction@example.com; alerts -> data-ops@example.com" in notes
    assert "memory: 1Gi a run (docs/deployment.md, Sizing: which merchant size it holds)" in notes
    assert "kubectl create job -n reports --from=cronjob/wine-bottleneck wine-bottleneck-manual-" in notes
    assert "helm test wine -n reports" in notes
    assert "kubectl port-forward -n reports svc/wine-bottleneck-luigid 8082:8082" in notes
    assert "only the pipeline's pods reach it (NetworkPolicy)" in notes


def sizing_table() -> list[dict]:
    """The rows of docs/deployment.md's sizing table, by column."""
    text = (REPO / "docs" / "deployment.md").read_text().split("## Sizing", 1)[1]
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True)) for line in lines[1:]]


def megabytes(cell: str) -> float:
    """The largest figure of a cell such as '528–593 MB (three runs)' or '1,778 MB'."""
    return max(float(number.replace(",", "")) for number in re.findall(r"[\d,]+(?:\.\d+)?(?= MB|–)", cell))


def quantity(text: str) -> int:
    match = re.fullmatch(r"([\d.]+)(Mi|Gi)", text)
    assert match, f"not a quantity in Mi or Gi: {text}"
    number, unit = match.groups()
    return int(float(number) * {"Mi": 1 << 20, "Gi": 1 << 30}[unit])


def test_memory_defaults_hold_the_merchant_size_the_sizing_table_gives_them(render_chart, kustomized, kubectl):
    rows = sizing_table()
    assert [row["merchant size"].split()[0] for row in rows] == ["1", "10", "100", "400"]
    for row in rows:
        peak = max(megabytes(row["peak RSS, local lake"]), megabytes(row["peak RSS, S3 lake"])) * 1e6
        limit = quantity(row["memory limit that holds it"].strip("*").split()[0])
        assert limit >= 1.5 * peak, f"{row['merchant size']}: {limit} bytes hold a peak of {peak:.0f} with no room"
    (default,) = [row for row in rows if "the default" in row["memory limit that holds it"]]
    size = default["memory limit that holds it"].strip("*").split()[0]
    (backfill,) = objects(run([kubectl, "kustomize", str(K8S / "backfill")]).stdout)
    templates = [
        find(render_chart()[0], "CronJob")["spec"]["jobTemplate"]["spec"]["template"],
        find(kustomized[0], "CronJob")["spec"]["jobTemplate"]["spec"]["template"],
        backfill["spec"]["template"],
    ]
    for template in templates:
        resources = container(template)["resources"]
        assert resources["limits"]["memory"] == resources["requests"]["memory"] == size
    values = (CHART / "values.yaml").read_text()
    assert f"{size} holds a merchant up to {default['merchant size']} times the real" in values
