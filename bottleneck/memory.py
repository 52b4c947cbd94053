"""The run's memory against its container's limit: its peak RSS, the limit the kernel enforces, a warning before
the kernel kills it.

The limit is the cgroup's (v2 `memory.max`, v1 `memory.limit_in_bytes`), the figure Kubernetes sets from
`resources.limits.memory`: at it the kernel kills the process (OOMKilled, exit 137), with nothing logged.
So a thread samples the process's peak RSS (the kernel's high-water mark, `VmHWM`, exact between
samples) four times a second and, once it reaches WARN_FRACTION of the limit, says so in the log and
calls back (bottleneck.metrics pushes it). A jump from below the fraction to the limit within one
sample is not seen: the figures of docs/deployment.md (Sizing) are what a limit must be chosen from.
"""

import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(f"luigi-interface.{__name__}")

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")
PROC_STATUS = Path("/proc/self/status")
WARN_FRACTION = 0.8
SAMPLE_SECONDS = 0.25
# cgroup v1 writes "no limit" as the largest page-aligned 63-bit number; anything this large is none.
NO_LIMIT = 1 << 62
MB = 1 << 20


def _limit_in(file: Path) -> int | None:
    try:
        text = file.read_text().strip()
    except OSError:
        return None
    if not text.isdigit() or int(text) >= NO_LIMIT:
        return None  # "max" (v2), or v1's number for none
    return int(text)


def _files_up(base: Path, path: str, name: str) -> list[Path]:
    """base/path/name and the same file in each folder above path, up to base/name."""
    parts = [part for part in path.split("/") if part]
    return [base.joinpath(*parts[:depth], name) for depth in range(len(parts), -1, -1)]


def container_limit_bytes(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int | None:
    """The memory limit of this process's cgroup, or of one above it, the smallest (None: no limit found).

    A container usually sees its own cgroup at the mount's root whatever path /proc names (cgroup
    namespaces; v1 without them), so the root's files count too."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    files = []
    for line in lines:
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if number == "0" and not controllers:
            files += _files_up(root, path, "memory.max")
        elif "memory" in controllers.split(","):
            files += _files_up(root / "memory", path, "memory.limit_in_bytes")
    files += [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    limits = [limit for file in files if (limit := _limit_in(file)) is not None]
    return min(limits) if limits else None


def peak_rss_bytes(status: Path = PROC_STATUS) -> int:
    """The most resident memory this process has held since it started its program (VmHWM)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    # Without /proc (macOS): getrusage's, in bytes there and in kB on Linux.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def near_limit(peak: int, limit: int | None, fraction: float = WARN_FRACTION) -> bool:
    return limit is not None and peak >= fraction * limit


def warning(peak: int, limit: int) -> str:
    return (
        f"memory: peak RSS {peak / MB:,.0f} MB is {peak / limit:.0%} of this container's limit "
        f"{limit / MB:,.0f} MB; the kernel kills the run at the limit (OOMKilled, exit 137): raise the memory "
        "limit (Helm chart: resources.limits.memory) for this merchant's size (docs/deployment.md, Sizing)"
    )


class MemoryWatch:
    """Samples the peak RSS against the limit; at WARN_FRACTION of it, logs a warning and calls `near` once."""

    def __init__(
        self,
        limit: int,
        near: Callable[[int, int], object],
        peak: Callable[[], int] = peak_rss_bytes,
        interval: float = SAMPLE_SECONDS,
    ) -> None:
        self.limit, self.near, self.peak, self.interval = limit, near, peak, interval
        self.warned = False
        self._checking = threading.Lock()  # the thread's samples and check_now()'s: one warning between them

    def check(self) -> bool:
        """One sample; True when it is the one that found the run near its limit."""
        with self._checking:
            if self.warned:
                return False
            peak = self.peak()
            if not near_limit(peak, self.limit):
                return False
            self.warned = True
        logger.warning("%s", warning(peak, self.limit))
        try:
            self.near(peak, self.limit)
        except Exception as problem:  # noqa: BLE001 - the watch informs; it never stops the run
            logger.warning("memory: near-limit callback failed: %s: %s", type(problem).__name__, problem)
        return True

    def watch(self) -> None:
        while not self.warned:
            self.check()
            time.sleep(self.interval)


# The watch of this process, by pid: a forked worker inherits its parent's and starts its own.
_watches: dict[int, MemoryWatch | None] = {}
_watch_lock = threading.Lock()


def watch_this_process(near: Callable[[int, int], object]) -> MemoryWatch | None:
    """Starts the watch of this process once (again in a forked worker); None when there is no limit to watch."""
    with _watch_lock:
        if os.getpid() in _watches:
            return _watches[os.getpid()]
        limit = container_limit_bytes()
        watch = MemoryWatch(limit, near) if limit is not None else None
        _watches[os.getpid()] = watch
    if watch is not None:
        threading.Thread(target=watch.watch, name="bottleneck-memory-watch", daemon=True).start()
    return watch


def check_now() -> None:
    """A sample at once (at each task's end), so that a peak reached just before the run ends is not missed."""
    watch = _watches.get(os.getpid())
    if watch is not None:
        watch.check()


def samples() -> dict[str, float]:
    """The memory metrics of this process: its peak RSS, and the container's limit when there is one."""
    values: dict[str, float] = {"bottleneck_run_peak_rss_bytes": peak_rss_bytes()}
    limit = container_limit_bytes()
    if limit is not None:
        values["bottleneck_memory_limit_bytes"] = limit
    return values
