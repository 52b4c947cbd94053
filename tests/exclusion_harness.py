"""Test-only: `bottleneck-run` or `bottleneck-admin`, watched at its steps of the exclusion of runs and re-processing
(bottleneck.running), so that a test can choose which side goes first, or check how two sides interleaved.

    PAUSE_DIR=DIR python tests/exclusion_harness.py run RunMonth --month 2020-08 --local-scheduler
    TRACE=FILE python tests/exclusion_harness.py admin reprocess --month 2020-08 --reason ...

PAUSE_DIR: after the first of its two steps, whichever comes first (a run: writing its marker or looking at
the reprocess lock; reprocess: taking the lock or looking for runs), it writes DIR/paused and waits for
DIR/go. TRACE: appends `<time> <pid> <event>` lines: a run's `claim` (passed) and `unmark`, reprocess's
`ahead` (no live run found, the lock held) and `released`.
"""

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bottleneck import admin, cli, lock, running

PAUSE = Path(os.environ["PAUSE_DIR"]) if os.environ.get("PAUSE_DIR") else None
TRACE = Path(os.environ["TRACE"]) if os.environ.get("TRACE") else None
paused: list[bool] = []


def trace(event: str) -> None:
    if TRACE is not None:
        with open(TRACE, "a") as file:
            file.write(f"{time.time():.6f} {os.getpid()} {event}\n")


def pause() -> None:
    if PAUSE is None or paused:
        return
    paused.append(True)
    (PAUSE / "paused").write_text(str(os.getpid()))
    deadline = time.monotonic() + 120
    while not (PAUSE / "go").exists():
        if time.monotonic() > deadline:
            sys.exit("exclusion_harness: never told to go")
        time.sleep(0.05)


def then_pause(function: Callable[..., Any]) -> Callable[..., Any]:
    def step(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        pause()
        return result

    return step


def traced(function: Callable[..., Any], event: Callable[[Any], str | None]) -> Callable[..., Any]:
    def step(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        if (name := event(result)) is not None:
            trace(name)
        return result

    return step


if sys.argv[1] == "run":
    running.mark = then_pause(running.mark)
    lock.holder_elsewhere = then_pause(lock.holder_elsewhere)
    running.claim = traced(running.claim, lambda _: "claim")
    running.unmark = traced(running.unmark, lambda _: "unmark")
    cli.main(sys.argv[2:])
else:
    month_lock = lock.month_lock

    @contextlib.contextmanager
    def watched_lock(*args: Any, **kwargs: Any) -> Iterator[None]:
        with month_lock(*args, **kwargs):
            pause()
            yield
        trace("released")

    lock.month_lock = watched_lock
    running.live_runs = traced(then_pause(running.live_runs), lambda found: None if found else "ahead")
    admin.main(sys.argv[2:])
