"""Fixtures of the executor's tests: specs, runners in tmp_path (a real ZooKeeper comes
from ``tests/conftest.py``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from executor.core import killer
from executor.core.clock import SkippingClock
from executor.core.runner import Runner
from executor.core.spec import TaskSpec


class Env:
    """A checkpoint root and sandbox under tmp_path, and runners made on them."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "checkpoints"
        self.sandbox = tmp_path / "sandbox"
        self.runners: list[Runner] = []
        self.threads: list[tuple[Runner, threading.Thread]] = []

    def runner(self, spec: TaskSpec, task_id: str = "t1", **kw: Any) -> Runner:
        kw.setdefault("clock", SkippingClock())
        kw.setdefault("quiet", True)
        r = Runner(spec, self.root, task_id, sandbox=self.sandbox, **kw)
        self.runners.append(r)
        return r

    def run_in_thread(self, runner: Runner) -> threading.Thread:
        t = threading.Thread(target=runner.run, daemon=True)
        t.start()
        self.threads.append((runner, t))
        return t

    def log(self, process: str, run: int = 0, stream: str = "stdout") -> str:
        return (self.sandbox / ".logs" / process / str(run) / stream).read_text()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    for r, t in e.threads:  # never leave a runner or a process behind
        if t.is_alive():
            r.stop()
            t.join(30)
    for r in e.runners:  # whatever a run left (say, after a failed assertion) goes too
        targets = [
            (run.pid, run.create_time)
            for runs in r.record.processes.values()
            for run in runs
            if run.pid is not None
        ]
        killer.kill_trees(targets, grace=0)
