"""`bottleneck-run`: Luigi's own command line with the package preloaded and typed exit codes."""

import contextlib
import datetime as dt
import io
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import luigi
import luigi.cmdline_parser
import luigi.configuration
import luigi.interface
import luigi.retcodes

from bottleneck import config, preflight
from bottleneck.errors import PipelineError


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


@contextlib.contextmanager
def quietly_parsed(argv: list[str]) -> Iterator[luigi.cmdline_parser.CmdlineParser]:
    """The command line parsed as Luigi will parse it, its config and flags in force; a usage error is left
    for Luigi itself to report, once, so what argparse prints here is dropped."""
    with (
        contextlib.redirect_stderr(io.StringIO()),
        contextlib.redirect_stdout(io.StringIO()),
        luigi.cmdline_parser.CmdlineParser.global_instance(argv) as parser,
    ):
        yield parser


def refusal(argv: list[str]) -> PipelineError | None:
    """Why this command must not start (bottleneck.preflight: the emails would reach nobody, the lake or
    its S3 locks would not hold), judged before Luigi schedules anything; None when it may. A refusal is
    told as any failure of the run is: the operators' alert, the month's failure metric."""
    try:
        with quietly_parsed(argv) as parser:
            core = luigi.interface.core()
            if core.help or core.help_all:
                return None
            root = parser.get_task_obj()
    except (Exception, SystemExit):  # noqa: BLE001 - any error in the arguments is Luigi's to report, as it runs
        return None
    month = getattr(root, "month", None)
    with luigi.cmdline_parser.CmdlineParser.global_instance(argv):
        try:
            preflight.require_ready(month if isinstance(month, dt.date) else config.current_month())
        except PipelineError as error:
            root.trigger_event(luigi.Event.FAILURE, root, error)
            return error
    return None


def central_scheduler(argv: list[str]) -> tuple[str | None, bool]:
    """The URL of the central scheduler this command would use (None: local scheduler), and whether
    to fall back to the local one when it is down; both as Luigi reads them, config and flags."""
    try:
        with quietly_parsed(argv):
            core = luigi.interface.core()
            fallback = config.settings().scheduler_fallback
    except (Exception, SystemExit):  # noqa: BLE001 - any error in the arguments is Luigi's to report, as it runs
        return None, False
    if core.local_scheduler or core.help or core.help_all:
        return None, fallback
    return core.scheduler_url or f"http://{core.scheduler_host}:{core.scheduler_port}/", fallback


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
