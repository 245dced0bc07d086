"""Resource samples (psutil): CPU, RSS per process tree and the sandbox's disk use.

``ResourceSampler`` is the status checker: it writes the latest sample to the task's
``resources.json`` every ``interval`` seconds (the first a second after start, so that
psutil's import stays off the start-up path), with the disk figure refreshed every
``disk_interval`` seconds and kept in between (walking the sandbox is the costly part).
Given the task's disk resource, it enforces it: once a measurement is over, it reports the
task ``failed`` (``limits.disk_verdict``), as Thermos's resource manager did.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import killer
from ..core.paths import disk_usage, write_json_atomic
from .checker import Status
from .limits import disk_verdict

if TYPE_CHECKING:
    from ..core.dispatcher import ProcessRun


class Sampler:
    """Keeps psutil objects between samples so CPU percentages have a baseline."""

    def __init__(self) -> None:
        self._procs: dict[int, Any] = {}

    def sample(
        self, runs: Sequence[ProcessRun], sandbox: Path | None, with_disk: bool
    ) -> dict[str, Any]:
        import psutil

        seen: dict[int, Any] = {}
        processes: dict[str, Any] = {}
        runs = [run for run in runs if run.pid is not None]
        trees = killer.trees((run.pid, run.create_time) for run in runs if run.pid is not None)
        for run in runs:
            cpu = 0.0
            rss = 0
            count = 0
            for pid, _ in trees.get(run.pid or -1, []):
                try:
                    proc = self._procs.get(pid) or psutil.Process(pid)
                    seen[pid] = proc
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                    count += 1
                except psutil.Error:  # it exited meanwhile
                    continue
            processes[run.process] = {
                "run": run.run,
                "pid": run.pid,
                "cpu_percent": round(cpu, 2),
                "rss_bytes": rss,
                "num_procs": count,
            }
        self._procs = seen
        result: dict[str, Any] = {
            "time": time.time(),
            "processes": processes,
            "cpu_percent": round(sum(p["cpu_percent"] for p in processes.values()), 2),
            "rss_bytes": sum(p["rss_bytes"] for p in processes.values()),
        }
        if with_disk and sandbox is not None:
            result["disk_bytes"] = disk_usage(sandbox)
        return result


class ResourceSampler:
    """Samples the live runs into ``out``.

    :param sandbox: the sandbox whose disk use is measured.
    :param out: the file the latest sample replaces (the task's ``resources.json``).
    :param interval: seconds between samples.
    :param disk_interval: seconds between disk measurements.
    :param disk_limit: the task's disk resource in bytes (0: not enforced).
    """

    def __init__(self, sandbox: Path, out: Path, *, interval: float,
                 disk_interval: float, disk_limit: int = 0) -> None:  # fmt: skip
        self._sandbox = sandbox
        self._out = out
        self._interval = interval
        self._disk_interval = disk_interval
        self._sampler: Sampler | None = None
        self._next_disk = 0.0
        self._disk_bytes: int | None = None
        self._disk_limit = disk_limit
        self._verdict: Status | None = None
        self.due = 0.0

    def start(self, now: float) -> None:
        self.due = now + min(1.0, self._interval, self._disk_interval)

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None:
        if now >= self.due:
            self._sample(now, live)
            # A disk interval shorter than the sampling one is kept too (it enforces).
            self.due = now + min(self._interval, self._disk_interval)
        return self._verdict

    def stop(self) -> None:
        pass

    def _sample(self, now: float, live: Sequence[ProcessRun]) -> None:
        if self._sampler is None:
            self._sampler = Sampler()
        with_disk = now >= self._next_disk
        sample = self._sampler.sample(live, self._sandbox, with_disk)
        if with_disk:
            self._next_disk = now + self._disk_interval
            self._disk_bytes = sample.get("disk_bytes")
            if self._verdict is None and self._disk_bytes is not None:
                self._verdict = disk_verdict(self._disk_bytes, self._disk_limit)
        elif self._disk_bytes is not None:
            sample["disk_bytes"] = self._disk_bytes
        write_json_atomic(self._out, sample)
