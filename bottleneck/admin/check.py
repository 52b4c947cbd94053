"""`bottleneck-admin check`: the setup's configuration and connectivity: lake, locks, delivery, SMTP, scheduler,
Pushgateway."""

import argparse
import sys
import uuid

import luigi.configuration

import bottleneck
from bottleneck import alerts, cli, config, lake, layout, lock_probe, mail, preflight
from bottleneck.errors import ConfigurationError, DeliveryError, LakeError, PipelineError


def check_lake() -> str:
    probe = lake.target(config.current_month(), "check_probe", token=uuid.uuid4().hex)
    try:
        lake.write_text(probe, "bottleneck-admin check\n")
        if lake.read_text(probe) != "bottleneck-admin check\n":
            raise LakeError(f"{probe.path} read back differs from what was written")
        lake.remove(probe)
    except PipelineError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to write, read or delete: exit 9, named
        raise LakeError(
            f"{probe.path} could not be written, read and removed: {type(error).__name__}: {error}"
        ) from None
    return f"{layout.lake_url()} reachable, writable ({probe.path} written, read, removed)"


def check_locks() -> str:
    store = lock_probe.require_conditional_writes(config.current_month())
    if store is None:
        return f"{layout.lock_root()}: a local folder, locks held with flock"
    return f"{store} honours If-None-Match and If-Match (a probe put twice, refused, deleted)"


def check_delivery() -> str:
    preflight.require_delivery()
    return preflight.delivery_summary()


def check_smtp() -> str:
    settings = mail.smtp_settings()
    if mail.delivery_mode(settings) == "lake":
        return "not used ([bottleneck] delivery = lake)"
    if not settings.host:
        raise ConfigurationError("no [smtp] host to connect to (Helm chart: smtp.host)")
    try:
        with mail.connected(settings) as connection:
            connection.noop()
    except Exception as error:  # noqa: BLE001 - told in the words of the delivery errors
        raise DeliveryError(mail.describe(error, settings)) from None
    tls = "no TLS ([smtp] no_tls = true)" if settings.no_tls else "TLS certificate and host name verified"
    login = f", logged in as {settings.username}" if settings.username and settings.password else ""
    return f"{settings.server} answers, {tls}{login}"


def check_scheduler() -> str:
    url, _ = cli.central_scheduler(["RunMonth"])
    if url is None:
        return "none: runs use the local scheduler"
    if not cli.reachable(url):
        raise PipelineError(f"central scheduler {url} cannot be reached ([core] scheduler_host, scheduler_port)")
    return f"{url} answers"


def check_pushgateway() -> str:
    url = config.settings().pushgateway
    if not url:
        return "none ([bottleneck] pushgateway empty): no run metrics"
    if not cli.reachable(url.rstrip("/") + "/-/healthy"):
        raise PipelineError(f"[bottleneck] pushgateway {url} cannot be reached")
    return f"{url} answers"


CHECKS = {
    "lake": check_lake,
    "locks": check_locks,
    "delivery": check_delivery,
    "smtp": check_smtp,
    "scheduler": check_scheduler,
    "pushgateway": check_pushgateway,
}


def check_command(args: argparse.Namespace) -> int:
    cfg = luigi.configuration.get_config()
    print(
        f"bottleneck {bottleneck.__version__}; python {sys.version.split()[0]}; "
        f"current month {config.current_month():%Y-%m}"
    )
    print(
        f"report receivers: {cfg.get('email', 'receiver', '') or '(none)'}; "
        f"alert receivers: {', '.join(alerts.receivers()) or '(none)'}"
    )
    code = 0
    for name, check in CHECKS.items():
        try:
            print(f"ok      {name}: {check()}")
        except Exception as error:  # noqa: BLE001 - every check is run and reported
            print(f"FAILED  {name}: {mail.smtp_settings().redact(str(error))}")
            code = code or getattr(error, "exit_code", 1)
    return code
