"""Test-only: `bottleneck-admin`, SIGKILLed before its Nth change to the lake (a write or a delete).

    KILL_AFTER=N python tests/kill_admin.py reprocess --month 2020-08 --reason ...
Without KILL_AFTER it runs whole and prints on stderr how many changes it made ("lake changes: N").
"""

import atexit
import os
import signal
import sys

from bottleneck import admin, lake

KILL_AFTER = int(os.environ.get("KILL_AFTER", "-1"))
changes = {"count": 0}


def counted(function):
    def change(*args, **kwargs):
        if changes["count"] == KILL_AFTER:
            os.kill(os.getpid(), signal.SIGKILL)
        changes["count"] += 1
        return function(*args, **kwargs)

    return change


lake.write_bytes = counted(lake.write_bytes)
lake.remove = counted(lake.remove)
atexit.register(lambda: print(f"lake changes: {changes['count']}", file=sys.stderr))
admin.main(sys.argv[1:])
