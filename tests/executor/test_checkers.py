"""Status checkers: the interface, checkers composed, and fake checkers in a real runner."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from aurora_provider.states.executor_task import ExecutorTaskState as T
from aurora_provider.states.health import HealthState as H
from aurora_provider.states.process_run import ProcessState
from executor.core.clock import SkippingClock
from executor.core.dispatcher import ProcessRun
from executor.core.spec import LifecycleSpec, LoggerSpec
from executor.services.checker import INFINITY, Checkers, Status, StatusChecker, worst
from executor.services.lifecycle import HttpLifecycle
from executor.services.logs import LogRotator
from executor.services.resources import ResourceSampler

from .conftest import Env
from .helpers import proc, task, view

FAILED = Status("failed", "boom")
STOPPING = Status("stopping")


class Fake:
    """A checker that says what it is told, and remembers what it was asked."""

    def __init__(self, name: str, says: Sequence[Status | None] = (), *,
                 journal: list[str] | None = None, drain: float = 0.0) -> None:  # fmt: skip
        self.name = name
        self._says = list(says)
        self.journal = journal if journal is not None else []
        self._drain = drain  # seconds of STOPPING after stop(), like a graceful shutdown
        self._now = 0.0
        self._stopped_at: float | None = None
        self.due = INFINITY

    def start(self, now: float) -> None:
        self.journal.append(f"{self.name} start")

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None:
        self._now = now
        if self._stopped_at is not None:
            if now < self._stopped_at + self._drain:
                self.due = self._stopped_at + self._drain
                return STOPPING
            self.due = INFINITY
            return None
        return self._says.pop(0) if len(self._says) > 1 else (self._says or [None])[0]

    def stop(self) -> None:
        self.journal.append(f"{self.name} stop")
        self._stopped_at = self._now


def _checker(c: StatusChecker) -> StatusChecker:
    return c  # the fakes and the real checkers all satisfy the protocol (checked by mypy)


# ---------------------------------------------------------------------- composition
@pytest.mark.unit
def test_the_worst_status_wins_and_nothing_said_is_none() -> None:
    healthy, starting = Status("healthy"), Status("starting")
    assert worst([]) is None and worst([None, None]) is None
    assert worst([healthy, None, starting]) == starting
    assert worst([starting, STOPPING, healthy]) == STOPPING
    assert worst([FAILED, Status("unhealthy", "down")]) == FAILED  # the first of equals
    assert Status("unhealthy", "x").health is H.UNHEALTHY and FAILED.health is None
    assert FAILED.fails_task and not STOPPING.fails_task


@pytest.mark.unit
def test_checkers_start_and_stop_in_order_once_and_share_the_earliest_due() -> None:
    journal: list[str] = []
    a, b = Fake("a", journal=journal), Fake("b", [FAILED], journal=journal)
    a.due, b.due = 7.0, 3.0
    group = Checkers([_checker(a), _checker(b)])
    assert group.due == 3.0 and Checkers([]).due == INFINITY
    group.start(0.0)
    assert group.poll(0.0, []) == FAILED
    group.stop()
    group.stop()
    assert journal == ["a start", "b start", "a stop", "b stop"]


# ---------------------------------------------------------------------- fakes in a runner
@pytest.mark.unit
def test_a_failing_checker_fails_the_task_and_a_draining_one_holds_it(env: Env) -> None:
    journal: list[str] = []
    failing = Fake("announcer", [FAILED], journal=journal)
    draining = Fake("lifecycle", journal=journal, drain=30.0)
    watcher = Fake("sampler", journal=journal)
    clock = SkippingClock(real_slice=0.0)  # no process: every wait is virtual
    # A task without processes would succeed at once: the checkers alone decide its end.
    runner = env.runner(task(), clock=clock, serving=[failing, draining], watching=[watcher])
    start = clock.time()
    assert runner.run() is T.FAILED
    v = view(env.root)
    assert v.failure_reason == "boom"
    cleaning = dict(v.statuses)[T.CLEANING]
    assert cleaning - start >= 30.0  # the draining checker held ACTIVE for its 30 s
    assert journal == ["announcer start", "lifecycle start", "sampler start",
                       "announcer stop", "lifecycle stop", "sampler stop"]  # fmt: skip


@pytest.mark.unit
def test_a_killed_task_never_starts_its_serving_checkers(env: Env) -> None:
    journal: list[str] = []
    runner = env.runner(task(), serving=[Fake("health", journal=journal)], watching=[])
    runner.request_stop()
    assert runner.run() is T.KILLED
    assert journal == ["health stop"]


@pytest.mark.process
def test_health_statuses_become_records_and_unhealthy_fails_the_task(env: Env) -> None:
    says = [Status("starting"), Status("healthy"), Status("healthy"),
            Status("unhealthy", "down")]  # fmt: skip
    health = Fake("health", says)
    # A sleeping process keeps the task ACTIVE while the checker is polled turn by turn.
    spec = task(proc("svc", "sleep 300"), finalization_wait=5)
    runner = env.runner(spec, serving=[health], watching=[])  # each turn of the loop polls
    assert runner.run() is T.FAILED
    v = view(env.root)
    assert (v.health, v.health_reason) == (H.UNHEALTHY, "down")
    assert v.failure_reason == "Failed health check! down"
    assert v.processes["svc"].runs[0].state is ProcessState.KILLED


# ---------------------------------------------------------------------- the real checkers
def _run(process: str, run: int = 0, pid: int | None = None) -> ProcessRun:
    r = ProcessRun(process, run, ProcessState.RUNNING)
    r.pid = pid
    return r


@pytest.mark.unit
def test_lifecycle_drains_only_after_stop_and_only_with_live_processes() -> None:
    closed = LifecycleSpec(port=1)  # nothing listens: the POSTs are not handled
    lifecycle = HttpLifecycle(closed, lambda message: None)
    lifecycle.stop()  # before start: a task stopped before it served is not drained
    assert lifecycle.poll(0.0, [_run("a")]) is None
    lifecycle.start(0.0)
    assert lifecycle.poll(0.0, [_run("a")]) is None  # not stopping: nothing to say
    lifecycle.stop()
    assert lifecycle.poll(0.0, [_run("a")]) is None and lifecycle.due == INFINITY


@pytest.mark.unit
def test_samples_keep_the_disk_figure_between_disk_samples(tmp_path: Path) -> None:
    sandbox, out = tmp_path / "sb", tmp_path / "resources.json"
    sandbox.mkdir()
    (sandbox / "data").write_bytes(b"x" * 100_000)
    sampler = ResourceSampler(sandbox, out, interval=10.0, disk_interval=60.0)
    sampler.start(0.0)
    assert sampler.due == 1.0  # the first sample a second in, off the start-up path
    sampler.poll(0.5, [])
    assert not out.exists()
    sampler.poll(1.0, [])
    first = json.loads(out.read_text())
    assert first["disk_bytes"] >= 100_000 and sampler.due == 11.0
    (sandbox / "data").unlink()
    sampler.poll(11.0, [])  # no disk walk this time: the last figure is kept
    assert json.loads(out.read_text())["disk_bytes"] == first["disk_bytes"]
    sampler.poll(61.0, [])
    assert json.loads(out.read_text())["disk_bytes"] < first["disk_bytes"]


@pytest.mark.unit
def test_log_rotation_rotates_live_runs_files_once_a_second(tmp_path: Path) -> None:
    spec = task(proc("p", "x", logger=LoggerSpec(mode="rotate", log_size=10, backups=1)))
    logs = tmp_path / ".logs"
    (logs / "p" / "0").mkdir(parents=True)
    stdout = logs / "p" / "0" / "stdout"
    stdout.write_bytes(b"y" * 50)
    rotator = LogRotator(spec, logs)
    rotator.start(0.0)
    rotator.poll(0.5, [_run("p")])
    assert stdout.stat().st_size == 50
    rotator.poll(1.0, [_run("p")])
    assert stdout.stat().st_size == 0 and (logs / "p/0/stdout.1").stat().st_size == 50
