"""The resource monitor's bookkeeping: histories per task, kept until the task is gone.

The "process" of these tasks is the test process itself (alive, and created before the
task's run started), so nothing is spawned.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from executor.api import disk_usage
from observer_plugin.observer.index import TaskIndex
from observer_plugin.observer.resources import ResourceMonitor

from .streams import finish, write_task

pytestmark = pytest.mark.unit


def test_histories_are_bounded_kept_after_the_end_and_dropped_with_the_task(
    tmp_path: Path,
) -> None:
    root, sandbox = tmp_path / "ck", tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / "data").write_bytes(b"x" * 10000)
    write_task(root, "t", launch=time.time(), pid=os.getpid(), sandbox=sandbox)
    clock = iter(float(i) for i in range(100))
    monitor = ResourceMonitor(TaskIndex([root]), interval=1, disk_interval=5, history=3,
                              clock=lambda: next(clock))  # fmt: skip
    for _ in range(4):
        monitor.sample_once()
    samples = monitor.samples("t")
    assert [s.timestamp for s in samples] == [1.0, 2.0, 3.0]
    assert all(s.rss > 0 for s in samples) and set(samples[-1].processes) == {"main"}
    assert samples[-1].disk == disk_usage(sandbox) > 0
    assert monitor.latest("t") == samples[-1]

    finish(root, "t", time.time())
    monitor.sample_once()
    assert monitor.samples("t") == samples  # finished: no new sample, the history stays
    shutil.rmtree(root / "t")
    monitor.sample_once()
    assert monitor.samples("t") == [] and monitor.latest("t") is None


def test_a_pid_created_after_the_run_started_is_not_the_run(tmp_path: Path) -> None:
    root = tmp_path / "ck"
    # The run "started" an hour before this process was created: its pid was reused.
    write_task(root, "t", launch=_created() - 3600, pid=os.getpid())
    monitor = ResourceMonitor(TaskIndex([root]))
    monitor.sample_once()
    sample = monitor.latest("t")
    assert sample is not None and sample.processes == {} and sample.rss == 0


def test_the_runners_recent_disk_figure_is_taken_instead_of_walking(tmp_path: Path) -> None:
    root, sandbox = tmp_path / "ck", tmp_path / "sandbox"
    sandbox.mkdir()
    write_task(root, "t", launch=time.time(), pid=os.getpid(), sandbox=sandbox)
    (root / "t" / "resources.json").write_text(f'{{"disk_bytes": 12345, "time": {time.time()}}}')
    monitor = ResourceMonitor(TaskIndex([root]), disk_interval=60)
    monitor.sample_once()
    latest = monitor.latest("t")
    assert latest is not None and latest.disk == 12345


def _created() -> float:
    import psutil

    return psutil.Process().create_time()
