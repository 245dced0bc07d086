"""Resource samples of the active tasks, taken by a background thread (psutil).

Every ``interval`` seconds: CPU % and RSS of each live process run's tree (the run's pid,
every process below it, and every process left in its session: each run leads its own
session, so a child whose parent died is still counted), summed per process and per task.
The sandbox's disk use is measured every ``disk_interval`` seconds and carried between;
when the runner's own ``resources.json`` holds a disk figure younger than that, it is taken
instead of walking the sandbox a second time. Each task keeps its last ``history`` samples;
a finished task's samples are kept until it is no longer listed.

CPU % is psutil's: over the time since the previous sample of the same process (so a
process's first sample reads 0), 100 per fully used core.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from aurora_provider.states.process_run import LIVE
from executor.api import disk_usage

from .index import IndexedTask, TaskIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    timestamp: float
    cpu: float  # percent, summed over the task's processes
    rss: int  # bytes
    disk: int | None  # bytes used in the sandbox; None until first measured
    processes: dict[str, tuple[float, int]] = field(default_factory=dict)  # name: (cpu, rss)

    def as_json(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "cpu": self.cpu, "rss": self.rss,
                "disk": self.disk}  # fmt: skip


def process_table() -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Children by parent pid and members by session id, of every live process (one pass)."""
    children: dict[int, list[int]] = {}
    sessions: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        pid = proc.pid
        children.setdefault(proc.info["ppid"], []).append(pid)
        with contextlib.suppress(OSError):
            sessions.setdefault(os.getsid(pid), []).append(pid)
    return children, sessions


def tree(leader: int, children: dict[int, list[int]], sessions: dict[int, list[int]]) -> set[int]:
    found = {leader}
    queue = [leader]
    while queue:
        for child in children.get(queue.pop(), ()):
            if child not in found:
                found.add(child)
                queue.append(child)
    return found | set(sessions.get(leader, ()))


class ResourceMonitor:
    """Samples the active tasks of ``index`` in a thread of its own.

    :param interval: seconds between samples (CPU and RSS).
    :param disk_interval: seconds between disk measurements of a sandbox.
    :param history: samples kept per task.
    :param clock: the wall clock samples are stamped with.
    """

    def __init__(self, index: TaskIndex, *, interval: float = 5.0, disk_interval: float = 60.0,
                 history: int = 180, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._index = index
        self.interval = interval
        self.disk_interval = disk_interval
        self.history = history
        self._clock = clock
        self._samples: dict[str, deque[Sample]] = {}
        self._procs: dict[int, psutil.Process] = {}  # kept: CPU % is measured between samples
        self._disk: dict[str, tuple[float, int]] = {}  # task: (when measured, bytes)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="resource-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def samples(self, task_id: str) -> list[Sample]:
        with self._lock:
            return list(self._samples.get(task_id, ()))

    def latest(self, task_id: str) -> Sample | None:
        with self._lock:
            history = self._samples.get(task_id)
            return history[-1] if history else None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_once()
            except Exception:  # a bad round must not end sampling for good
                log.exception("resource sampling failed; trying again next round")
            self._stop.wait(self.interval)

    def sample_once(self) -> None:
        """One round: every active task sampled, histories of vanished tasks dropped."""
        tasks = self._index.refresh()
        listed = {t.task_id for t in tasks}
        active = [t for t in tasks if t.active]
        children, sessions = process_table() if active else ({}, {})
        seen: dict[int, psutil.Process] = {}
        now = self._clock()
        for task in active:
            sample = self._sample(task, now, children, sessions, seen)
            with self._lock:
                history = self._samples.get(task.task_id)
                if history is None or history.maxlen != self.history:
                    history = self._samples[task.task_id] = deque(history or (), self.history)
                history.append(sample)
        self._procs = seen
        with self._lock:
            for task_id in [t for t in self._samples if t not in listed]:
                del self._samples[task_id]
            for task_id in [t for t in self._disk if t not in listed]:
                del self._disk[task_id]

    def _sample(self, task: IndexedTask, now: float, children: dict[int, list[int]],
                sessions: dict[int, list[int]], seen: dict[int, psutil.Process]) -> Sample:
        per_process: dict[str, tuple[float, int]] = {}
        for name, process in task.view.processes.items():
            run = process.runs[-1] if process.runs else None
            if run is None or run.state not in LIVE or run.pid is None:
                continue
            if not self._is_run(run.pid, run.start_time):
                continue
            per_process[name] = self._measure(tree(run.pid, children, sessions), seen)
        return Sample(
            timestamp=now,
            cpu=round(sum(c for c, _ in per_process.values()), 2),
            rss=sum(r for _, r in per_process.values()),
            disk=self._disk_of(task, now),
            processes=per_process,
        )

    def _is_run(self, pid: int, start_time: float | None) -> bool:
        """Whether ``pid`` is still the run's process, not a later one that reused the pid:
        the run's process was created before the run was recorded running."""
        try:
            created = self._procs[pid].create_time() if pid in self._procs else None
            created = created or psutil.Process(pid).create_time()
        except psutil.Error:
            return False
        return start_time is None or created <= start_time + 1.0

    def _measure(self, pids: Iterable[int], seen: dict[int, psutil.Process]) -> tuple[float, int]:
        cpu, rss = 0.0, 0
        for pid in pids:
            try:
                proc = self._procs.get(pid) or psutil.Process(pid)
                with proc.oneshot():
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                seen[pid] = proc
            except psutil.Error:  # it exited meanwhile
                continue
        return round(cpu, 2), rss

    def _disk_of(self, task: IndexedTask, now: float) -> int | None:
        last = self._disk.get(task.task_id)
        if last is not None and now - last[0] < self.disk_interval:
            return last[1]
        measured = self._runner_disk(task, now)
        if measured is None and task.view.sandbox and os.path.isdir(task.view.sandbox):
            measured = disk_usage(Path(task.view.sandbox))
        if measured is None:
            return last[1] if last else None
        self._disk[task.task_id] = (now, measured)
        return measured

    def _runner_disk(self, task: IndexedTask, now: float) -> int | None:
        """The disk figure of the runner's latest sample, when it is recent enough."""
        try:
            latest = json.loads(task.paths.resources.read_text())
        except (OSError, ValueError):
            return None
        disk, taken = latest.get("disk_bytes"), latest.get("time")
        if isinstance(disk, int) and isinstance(taken, int | float) \
                and now - taken < self.disk_interval:
            return disk
        return None
