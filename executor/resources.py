"""Resource samples (psutil): CPU, RSS per process tree and the sandbox's disk use."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from .state import ProcessRun


def disk_usage(path: Path) -> int:
    """Bytes used under ``path`` (not following symlinks)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


class Sampler:
    """Keeps psutil objects between samples so CPU percentages have a baseline."""

    def __init__(self) -> None:
        self._procs: dict[int, Any] = {}

    def sample(
        self, runs: list[ProcessRun], sandbox: Path | None, with_disk: bool
    ) -> dict[str, Any]:
        import psutil

        from . import killer

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
