"""The package's Luigi event handlers, registered when it is imported (Luigi's idiom), and what a run sets up at
its first event rather than at import: the log lines kept for the failure alert, the memory its forked workers
share, the garbage collector's freeze.

Each event has one handler here, which calls the package's functions in a stated order: Luigi keeps a set of
handlers an event, in no order of its own.
"""

import datetime as dt
import gc

import luigi

from bottleneck import alerts, metrics, running

# Luigi's worker fires one of these for each task it schedules, in the process that schedules (before it forks
# any worker process, and before any task starts).
SCHEDULING = (luigi.Event.DEPENDENCY_DISCOVERED, luigi.Event.DEPENDENCY_PRESENT, luigi.Event.DEPENDENCY_MISSING)

_started = False


def start_run() -> None:
    """Sets up the run once a process (a forked worker inherits it): called by `bottleneck-run` as it starts,
    and by the first event of a run started otherwise (`luigi --module bottleneck`)."""
    global _started
    if _started:
        return
    _started = True
    # The imports made some 150,000 objects that live as long as the process: frozen, the cyclic collector no
    # longer walks them at every full collection (0.07 s a run).
    gc.freeze()
    alerts.start()
    running.start()


def _on_scheduling(*_: object) -> None:
    start_run()


def _on_start(task: luigi.Task) -> None:
    start_run()
    metrics.on_start(task)
    running.on_start(task)


def _on_success(task: luigi.Task) -> None:
    start_run()
    running.on_end(task)
    metrics.on_success(task)


def _on_failure(task: luigi.Task, error: BaseException | str) -> None:
    """A task failed, could not be scheduled (broken), or its worker process died or timed out."""
    start_run()
    metrics.on_failure(task, error)
    alerts.on_failure(task, error)


def refused(command: str, month: dt.date, error: BaseException) -> None:
    """A command refused to start (bottleneck.preflight), before Luigi made any task: told as a failure of
    the month is, by the operators' alert and the month's failure metric."""
    start_run()
    metrics.push_failure(month, error)
    alerts.alert_once(command, month, error)


def _on_task_failure(task: luigi.Task, error: BaseException) -> None:
    running.on_end(task, error)
    _on_failure(task, error)


for _event in SCHEDULING:
    luigi.Task.event_handler(_event)(_on_scheduling)
luigi.Task.event_handler(luigi.Event.START)(_on_start)
luigi.Task.event_handler(luigi.Event.SUCCESS)(_on_success)
luigi.Task.event_handler(luigi.Event.FAILURE)(_on_task_failure)
for _event in (luigi.Event.BROKEN_TASK, luigi.Event.PROCESS_FAILURE, luigi.Event.TIMEOUT):
    luigi.Task.event_handler(_event)(_on_failure)
