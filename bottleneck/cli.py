"""`bottleneck-run`: Luigi's own command line with the package preloaded and typed exit codes."""
import sys

import luigi
import luigi.retcodes

from bottleneck.errors import PipelineError


def main(argv: list[str] | None = None) -> None:
    """Runs Luigi; when a task failed with a pipeline error, exits with that error's code.

    Luigi's own codes (see bottleneck.config.RETCODES) stand where no typed error was seen, for
    instance when tasks ran in worker processes of `--workers N`.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--module" not in argv and not any(arg.startswith("--module=") for arg in argv):
        argv = ["--module", "bottleneck", *argv]
    typed_failures = []

    @luigi.Task.event_handler(luigi.Event.FAILURE)
    def remember(task, exception):
        if isinstance(exception, PipelineError):
            typed_failures.append(exception)

    try:
        luigi.retcodes.run_with_retcodes(argv)
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (1 if exit.code else 0)
        if code and typed_failures:
            code = typed_failures[0].exit_code
        sys.exit(code)


if __name__ == "__main__":
    main()
