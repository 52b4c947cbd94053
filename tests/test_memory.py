"""bottleneck.memory: the container's limit read from cgroup files laid out as the kernel lays them out (v1 and v2,
a container's own view and a host path), the peak RSS from /proc, and the watch that warns once near the limit.
The image under a real memory limit: tests/deploy/test_image.py."""

import logging
from pathlib import Path

import pytest

from bottleneck import memory

GIB = 1 << 30


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return root


def test_cgroup_v2_the_smallest_limit_of_the_process_s_cgroup_and_those_above(tmp_path):
    root = tree(
        tmp_path / "fs",
        {
            "kubepods/pod1/ctr/memory.max": str(GIB),
            "kubepods/pod1/memory.max": str(2 * GIB),
            "kubepods/memory.max": "max",
        },
    )
    proc = tree(tmp_path, {"cgroup": "0::/kubepods/pod1/ctr"}) / "cgroup"
    assert memory.container_limit_bytes(root, proc) == GIB
    (root / "kubepods/memory.max").write_text(f"{GIB // 2}\n")
    assert memory.container_limit_bytes(root, proc) == GIB // 2, "a limit above the container's holds too"


def test_cgroup_v1_a_container_s_own_view_at_the_root_and_none_on_the_host(tmp_path):
    # v1 without a cgroup namespace: /proc names the host's path, the mount shows the container's own cgroup.
    proc = tree(tmp_path, {"cgroup": "4:memory:/libpod_parent/libpod-6a15\n0::/libpod_parent/libpod-6a15"}) / "cgroup"
    root = tree(tmp_path / "fs", {"memory/memory.limit_in_bytes": "314572800"})
    assert memory.container_limit_bytes(root, proc) == 314572800
    (root / "memory/memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    assert memory.container_limit_bytes(root, proc) is None


def test_no_cgroup_files_no_limit(tmp_path):
    assert memory.container_limit_bytes(tmp_path / "none", tmp_path / "no-cgroup") is None


def test_peak_rss_is_the_kernel_s_high_water_mark(tmp_path):
    status = tree(tmp_path, {"status": "Name:\tpython\nVmHWM:\t  181000 kB\nVmRSS:\t  90000 kB"}) / "status"
    assert memory.peak_rss_bytes(status) == 181000 * 1024
    ballast = bytearray(64 << 20)  # 64 MB touched: the real peak holds it
    assert memory.peak_rss_bytes() >= len(ballast)


def test_the_watch_warns_once_at_four_fifths_of_the_limit_and_calls_back(caplog):
    peaks = iter([700, 790, 800, 950, 990])
    called = []
    watch = memory.MemoryWatch(
        1000 * memory.MB, lambda peak, limit: called.append((peak, limit)), peak=lambda: next(peaks) * memory.MB
    )
    with caplog.at_level(logging.WARNING, logger="luigi-interface.bottleneck.memory"):
        assert [watch.check() for _ in range(5)] == [False, False, True, False, False]
    assert called == [(800 * memory.MB, 1000 * memory.MB)]
    (warning,) = [record.getMessage() for record in caplog.records]
    assert warning.startswith("memory: peak RSS 800 MB is 80% of this container's limit 1,000 MB; the kernel kills")
    assert "resources.limits.memory" in warning
    assert "docs/deployment.md, Sizing" in warning


def test_a_failing_callback_never_stops_the_run(caplog):
    def broken(peak: int, limit: int) -> None:
        raise ConnectionError("pushgateway down")

    watch = memory.MemoryWatch(100, broken, peak=lambda: 99)
    with caplog.at_level(logging.WARNING, logger="luigi-interface.bottleneck.memory"):
        assert watch.check() is True
    assert "near-limit callback failed: ConnectionError: pushgateway down" in caplog.text


@pytest.mark.parametrize(("peak", "near"), [(799, False), (800, True), (1200, True)])
def test_near_the_limit_from_four_fifths(peak, near):
    assert memory.near_limit(peak, 1000) is near
    assert memory.near_limit(peak, None) is False
