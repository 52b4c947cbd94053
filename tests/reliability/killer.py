"""Test-only Luigi module: the pipeline, SIGKILLed at a chosen point. Never imported by the package.

PYTHONPATH=tests/reliability BOTTLENECK_KILL_AT=start:MonthReport bottleneck-run --module killer RunMonth ...
BOTTLENECK_KILL_AT=start:StagedExport(web)   kills it as the staging of web.xlsx starts
BOTTLENECK_KILL_AT=write:6   kills the process once 6 lake writes are done, before the 7th
"""

import os
import signal

import luigi

import bottleneck  # noqa: F401 - registers the tasks, as `--module bottleneck` would
from bottleneck import lake

WHEN = os.environ.get("BOTTLENECK_KILL_AT", "")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if WHEN.startswith("start:"):
    family = WHEN.split(":", 1)[1]

    @luigi.Task.event_handler(luigi.Event.START)
    def kill_at_start(task):
        source = getattr(task, "source", None)
        if family in (task.get_task_family(), f"{task.get_task_family()}({source})"):
            _die()

elif WHEN.startswith("write:"):
    writes_before_kill = int(WHEN.split(":", 1)[1])
    done = {"writes": 0}
    write_bytes = lake.write_bytes

    def counted_write_bytes(file, data):
        if done["writes"] == writes_before_kill:
            _die()
        write_bytes(file, data)
        done["writes"] += 1

    lake.write_bytes = counted_write_bytes
