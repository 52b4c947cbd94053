"""`bottleneck-run`: Luigi's own command line with the package preloaded and typed exit codes."""

import argparse
import sys
import urllib.error
import urllib.request

import luigi
import luigi.configuration
import luigi.interface
import luigi.retcodes
import luigi.task_register

from bottleneck import config, events, preflight
from bottleneck.errors import PipelineError
from bottleneck.parameters import CURRENT_MONTH, parsed_month


def main(argv: list[str] | None = None) -> None:
    """Runs Luigi; when a task failed with a pipeline error, exits with that error's code.

    Luigi's own codes (see bottleneck.config.RETCODES) stand where no typed error was seen, for
    instance when tasks ran in worker processes of `--workers N`.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--module" not in argv and not any(arg.startswith("--module=") for arg in argv):
        argv = ["--module", "bottleneck", *argv]
    refused = refusal(argv)
    if refused is not None:
        print(f"bottleneck-run: refused to start: {refused}", file=sys.stderr, flush=True)
        sys.exit(refused.exit_code)
    argv = with_reachable_scheduler(argv)
    events.start_run()
    typed_failures: list[PipelineError] = []

    @luigi.Task.event_handler(luigi.Event.FAILURE)
    def remember(task: luigi.Task, exception: BaseException) -> None:
        if isinstance(exception, PipelineError):
            typed_failures.append(exception)

    try:
        luigi.retcodes.run_with_retcodes(argv)
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (1 if exit.code else 0)
        if code and typed_failures:
            code = typed_failures[0].exit_code
        sys.exit(code)


def _start_flags() -> argparse.ArgumentParser:
    """The options read before Luigi starts, as its command line takes them: those of Luigi's [core] that
    choose the scheduler, the fallback, and the month."""
    flags = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    flags.add_argument("--local-scheduler", nargs="?", const="true", default=None)
    for option in ("--scheduler-host", "--scheduler-port", "--scheduler-url", "--bottleneck-scheduler-fallback"):
        flags.add_argument(option, default=None)
    flags.add_argument("--month", default=None)
    flags.add_argument("--help", "--help-all", action="store_true")
    return flags


# Options Luigi takes on its command line for the sections the start checks read: given there, they are left
# to the same checks as Luigi schedules the month (MonthEmail.complete()), which reads them.
CHECKED_SECTIONS = ("--bottleneck-", "--smtp-", "--email-")


def refusal(argv: list[str]) -> PipelineError | None:
    """Why this command must not start (bottleneck.preflight: the emails would reach nobody, the lake or its S3
    locks would not hold), judged from luigi.cfg before Luigi schedules anything; None when it may. A refusal
    is told as any failure of the run is: the operators' alert, the month's failure metric."""
    given, _ = _start_flags().parse_known_args(argv)
    if given.help or any(argument.startswith(CHECKED_SECTIONS) for argument in argv):
        return None
    month = config.current_month()
    if given.month and given.month != CURRENT_MONTH:
        try:
            month = parsed_month(given.month)
        except ValueError:
            return None  # Luigi names a month it cannot take
    try:
        preflight.require_ready(month)
    except PipelineError as error:
        events.refused(f"{_task_named(argv)}(month={month:%Y-%m}), refused at its start", month, error)
        return error
    return None


def _task_named(argv: list[str]) -> str:
    """The task the command line names (Luigi takes the first of its arguments that names a task)."""
    registry = luigi.task_register.Register
    tasks = {name for name in registry.task_names() if not issubclass(registry.get_task_cls(name), luigi.Config)}
    return next((argument for argument in argv if argument in tasks), "bottleneck-run")


def central_scheduler(argv: list[str]) -> tuple[str | None, bool]:
    """The URL of the central scheduler this command would use (None: local scheduler), and whether
    to fall back to the local one when it is down: the command line's flags over luigi.cfg's [core] and
    [bottleneck]. Only these flags are read here; anything else, a usage error too, is left to Luigi."""
    given, _ = _start_flags().parse_known_args(argv)
    core = luigi.interface.core()
    fallback = config.settings().scheduler_fallback
    if given.bottleneck_scheduler_fallback is not None:
        fallback = given.bottleneck_scheduler_fallback.strip().lower() == "true"
    local = core.local_scheduler if given.local_scheduler is None else given.local_scheduler.lower() == "true"
    if local or given.help:
        return None, fallback
    if url := given.scheduler_url or core.scheduler_url:  # Luigi takes a URL over a host and port
        return url, fallback
    host, port = given.scheduler_host or core.scheduler_host, given.scheduler_port or core.scheduler_port
    return f"http://{host}:{port}/", fallback


def reachable(url: str) -> bool:
    """True when something answers HTTP at the scheduler's URL (an error page still proves it is up)."""
    if not url.startswith(("http://", "https://")):
        return True  # e.g. http+unix://: left to Luigi's own client
    timeout = luigi.configuration.get_config().getfloat("core", "rpc-connect-timeout", 10.0)
    try:
        urllib.request.urlopen(url, timeout=timeout).close()
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
    return True


def with_reachable_scheduler(argv: list[str]) -> list[str]:
    """The arguments, with `--local-scheduler` added when the central scheduler is down at start.

    A report must not wait for the visualiser: without the fallback Luigi would retry the scheduler
    ([core] rpc_retry_attempts x rpc_retry_wait, 90 s by default) and then fail the run.
    `[bottleneck] scheduler_fallback = false` keeps Luigi's behaviour.
    """
    url, fallback = central_scheduler(argv)
    if url is None or not fallback or reachable(url):
        return argv
    print(
        f"WARNING: bottleneck-run: the central scheduler at {url} cannot be reached; running with the "
        "local scheduler instead (not shown in the visualiser, no sharing of work with other workers; "
        "[bottleneck] scheduler_fallback = false to fail instead)",
        file=sys.stderr,
        flush=True,
    )
    return [*argv, "--local-scheduler"]


if __name__ == "__main__":
    main()
