"""Fakes for what cannot run in a unit test: a clock that tests move, and a backend whose
agents and task behaviour the test chooses; plus ``SchedulerWorld``, the real scheduler
(assembled by the composition root) over them.

The benchmarks use the same backend, so tests and benchmarks measure one scheduler.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.framework.backends.base import Launch, StatusUpdate
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.daemon import Parts, assemble
from aurora_provider.framework.http.auth import Authenticator, Principal
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.operations.settings import OpsSettings
from aurora_provider.framework.placement.offers import Offer
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.storage.store import Store, open_store
from aurora_provider.states.task import TaskState

S = TaskState


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Agent:
    hostname: str
    cpu: float = 100.0
    ram_mb: float = 100_000.0
    disk_mb: float = 100_000.0
    attributes: dict[str, str] = field(default_factory=dict)
    agent_id: str = ""  # default: agent-HOSTNAME

    def __post_init__(self) -> None:
        self.agent_id = self.agent_id or f"agent-{self.hostname}"


class FakeBackend:
    """Agents of fixed capacity; a launched task holds its resources until it ends.

    :param agents: the agents offered (default: one large ``host-1``).
    :param starts: what a launch does: ``"running"`` (RUNNING at once), ``"starting"``
        (STARTING then RUNNING) or ``"nothing"`` (the test reports what happens).
    :param crash_marker: a launch whose executor data holds this text FAILs instead.
    :param store: when given, every launch is checked to be persisted (ASSIGNED) first.
    """

    name = "fake"

    def __init__(self, agents: Sequence[Agent] = (Agent("host-1"),), *,
                 starts: str = "running", crash_marker: str | None = None,
                 store: Store | None = None) -> None:
        self.agents = list(agents)
        self.starts = starts
        self.crash_marker = crash_marker
        self.store = store
        self.running: dict[str, Launch] = {}
        self.used: dict[str, list[float]] = {a.agent_id: [0.0, 0.0, 0.0] for a in agents}
        self.launched: list[str] = []
        self.killed: list[str] = []
        self.updates: list[StatusUpdate] = []
        self.vanished: set[str] = set()  # task ids whose runner is gone at reconcile
        self.started = self.stopped = 0

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1

    def offers(self) -> list[Offer]:
        return [Offer(str(uuid.uuid4()), a.agent_id, a.hostname,
                      a.cpu - self.used[a.agent_id][0], a.ram_mb - self.used[a.agent_id][1],
                      a.disk_mb - self.used[a.agent_id][2], port_ranges=[(31000, 32000)],
                      attributes=dict(a.attributes)) for a in self.agents]

    def launch(self, launches: Sequence[Launch]) -> None:
        for launch in launches:
            if self.store is not None:  # persisted before it is acted on
                row = self.store.tasks.task(launch.task_id)
                assert row is not None and row.status is S.ASSIGNED
            self.launched.append(launch.task_id)
            self.running[launch.task_id] = launch
            self._hold(launch, 1)
            crash = self.crash_marker is not None and \
                self.crash_marker in launch.config.task.executor_data
            if crash:
                self.finish(launch.task_id, S.FAILED)
            elif self.starts == "starting":
                self.report(launch.task_id, S.STARTING)
                self.report(launch.task_id, S.RUNNING)
            elif self.starts == "running":
                self.report(launch.task_id, S.RUNNING, "up")

    def _hold(self, launch: Launch, sign: int) -> None:
        used = self.used.setdefault(launch.agent_id, [0.0, 0.0, 0.0])
        used[0] += sign * launch.cpu
        used[1] += sign * launch.ram_mb
        used[2] += sign * launch.disk_mb

    def kill(self, task_ids: Sequence[str]) -> None:
        for task_id in task_ids:
            self.killed.append(task_id)
            self.finish(task_id, S.KILLED, "killed")

    def finish(self, task_id: str, state: TaskState = S.FINISHED,
               message: str | None = None) -> None:
        """The task ends: its resources are free again."""
        launch = self.running.pop(task_id, None)
        if launch is not None:
            self._hold(launch, -1)
        self.report(task_id, state, message or state.value)

    def report(self, task_id: str, state: TaskState, message: str | None = None) -> None:
        self.updates.append(StatusUpdate(task_id, state, message))

    def poll(self) -> list[StatusUpdate]:
        found, self.updates = self.updates, []
        return found

    def reconcile(self, running: Sequence[Launch]) -> list[StatusUpdate]:
        return [StatusUpdate(r.task_id, S.LOST, "vanished") for r in running
                if r.task_id in self.vanished]


ADMIN = Authenticator({"admin": Principal("admin", frozenset(), True)})


class SchedulerWorld:
    """The real scheduler, assembled by the composition root over a fake backend and clock,
    in ``tmp_path``; rounds run when the test says so.

    :param db_url: its store (e.g. the ``store_url`` fixture's, to run on PostgreSQL too);
        default: a SQLite file in ``tmp_path``.
    """

    def __init__(self, tmp_path: Path, backend: FakeBackend | None = None, *,
                 clock: Callable[[], float] | None = None,
                 settings: SchedulerSettings | None = None,
                 ops: OpsSettings | None = None, store: Store | None = None,
                 db_url: str | None = None) -> None:
        self.db = db_url or f"sqlite:///{tmp_path / 'db.sqlite'}"
        self.clock: Any = clock or Clock()
        self.settings = settings or SchedulerSettings(prune_interval_secs=1e9)
        self.ops = ops or OpsSettings(backup_dir=tmp_path / "backups", backup_interval_secs=0)
        self.store = store or open_store(self.db)
        self.backend = backend or FakeBackend()
        self.parts = self.boot(self.backend)

    def boot(self, backend: FakeBackend) -> Parts:
        """A new scheduler on the same store (as after a restart)."""
        self.backend = backend
        self.parts = assemble(self.store, backend, self.settings, self.ops, ADMIN,
                              clock=self.clock)
        self.parts.recover()
        return self.parts

    def rounds(self, n: int = 3, step: float = 0.0) -> None:
        for _ in range(n):
            self.clock.now += step
            self.parts.scheduler.run_round()

    def active(self, job_key: str) -> list[TaskRow]:
        return sorted(self.parts.ledger.active(job_key), key=lambda r: r.instance)


def typed(job: m.JobConfiguration | dict[str, Any]) -> JobConfig:
    """A test's job (API model or wire dict) as the scheduler's typed configuration."""
    wire = job.model_dump(mode="json") if isinstance(job, m.JobConfiguration) else job
    return JobConfig.from_wire(wire)
