"""The scheduler core in-process, with a scripted backend and an injected clock.

These cover the timing rules (backoff, timeouts, pruning) without waiting: the clock moves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.api import models as m
from aurora_provider.framework.backends.base import Launch, StatusUpdate
from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.jobs import JobService
from aurora_provider.framework.placement import Offer
from aurora_provider.framework.settings import SchedulerSettings
from aurora_provider.framework.state import TaskState
from aurora_provider.framework.storage import Store, open_store

S = TaskState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedBackend:
    """Launches nothing; the test says what happens to each task."""

    name = "scripted"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.launched: list[str] = []
        self.killed: list[str] = []
        self.updates: list[StatusUpdate] = []
        self.vanished: set[str] = set()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def offers(self) -> list[Offer]:
        return [Offer("o1", "agent-1", "host-1", 100, 100_000, 100_000,
                      port_ranges=[(1000, 2000)])]

    def launch(self, launches: Sequence[Launch]) -> None:
        for launch in launches:
            # Persisted before it is acted on.
            row = self.store.task(launch.task_id)
            assert row is not None and row.status is S.ASSIGNED
            self.launched.append(launch.task_id)

    def kill(self, task_ids: Sequence[str]) -> None:
        self.killed += task_ids
        self.updates += [StatusUpdate(t, S.KILLED, "killed") for t in task_ids]

    def poll(self) -> list[StatusUpdate]:
        found, self.updates = self.updates, []
        return found

    def reconcile(self, running: Sequence[Launch]) -> list[StatusUpdate]:
        return [StatusUpdate(r.task_id, S.LOST, "vanished") for r in running
                if r.task_id in self.vanished]


def wire(name: str, *, service: bool, instances: int = 1,
         max_task_failures: int = 1) -> m.JobConfiguration:
    return m.JobConfiguration.model_validate({
        "key": {"cluster": "devcluster", "role": "www", "environment": "prod", "name": name},
        "instances": instances,
        "task": {"is_service": service, "max_task_failures": max_task_failures,
                 "resources": {"cpu": 0.5, "ram_mb": 64, "disk_mb": 64},
                 "executor_config": {"data": json.dumps({"name": name})}}})


@pytest.fixture
def world(tmp_path: Path) -> tuple[Scheduler, ScriptedBackend, Clock, JobService]:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    backend = ScriptedBackend(store)
    clock = Clock()
    settings = SchedulerSettings(flapping_threshold_secs=60, backoff_initial_secs=30,
                                 backoff_max_secs=120, history_max_per_job=3,
                                 history_min_age_secs=10, prune_interval_secs=1e9)
    core = Scheduler(store, backend, settings, clock=clock)
    core.recover()
    return core, backend, clock, JobService(core)


def active(core: Scheduler, job: str = "www/prod/svc") -> list[Any]:
    return core.cache.job_tasks(job)


def report(core: Scheduler, backend: ScriptedBackend, state: TaskState,
           job: str = "www/prod/svc") -> str:
    (task,) = active(core, job)
    backend.updates.append(StatusUpdate(task.task_id, state, state.value.lower()))
    core.run_round()
    return str(task.task_id)


def test_flapping_service_is_throttled_with_doubling_backoff(world: Any) -> None:
    core, backend, clock, jobs = world
    jobs.create(wire("svc", service=True))
    penalties = []
    for _ in range(4):
        core.run_round()
        report(core, backend, S.RUNNING)
        clock.now += 5  # ran 5 s: shorter than the 60 s threshold
        report(core, backend, S.FAILED)
        (task,) = active(core)
        assert task.status is S.THROTTLED
        penalties.append(task.throttle_until - clock.now)
        clock.now += penalties[-1]
        core.run_round()
    assert penalties == [30, 60, 120, 120]
    # A long run resets the penalty.
    report(core, backend, S.RUNNING)
    clock.now += 600
    report(core, backend, S.FAILED)
    (task,) = active(core)
    assert task.status is S.ASSIGNED and task.throttle_until is None


def test_transient_states_time_out_to_lost(world: Any) -> None:
    core, backend, clock, jobs = world
    jobs.create(wire("svc", service=False))
    core.run_round()
    (task,) = active(core)
    assert task.status is S.ASSIGNED and backend.launched == [task.task_id]
    clock.now += 301
    core.run_round()
    row = core.store.task(task.task_id)
    assert row.status is S.LOST and row.message == "Task timed out in ASSIGNED"
    assert task.task_id in backend.killed
    (replacement,) = active(core)
    assert replacement.ancestor_id == task.task_id  # LOST always reschedules


def test_every_transition_is_an_event(world: Any) -> None:
    core, backend, _clock, jobs = world
    jobs.create(wire("svc", service=False))
    core.run_round()
    report(core, backend, S.RUNNING)
    task_id = report(core, backend, S.FINISHED)
    events = core.store.events(task_ids=[task_id])[task_id]
    assert [e.status for e in events] == [S.INIT, S.PENDING, S.ASSIGNED, S.RUNNING, S.FINISHED]
    assert not active(core)  # an ad-hoc task that finished is not rescheduled
    assert core.store.job("www/prod/svc") is None


def test_terminal_history_is_pruned_by_count_and_age(world: Any) -> None:
    core, backend, clock, jobs = world
    jobs.create(wire("svc", service=True))
    for _ in range(6):
        core.run_round()
        report(core, backend, S.RUNNING)
        clock.now += 100
        report(core, backend, S.FINISHED)
    assert len(core.store.tasks(job_key="www/prod/svc", statuses=[S.FINISHED])) == 6
    # Finished at 1100, 1200 ... 1600; keep 3 per job, but nothing younger than 10 s.
    assert core.prune(1305.0) == 2  # 1300 is beyond the count but too young
    assert core.prune(clock.now) == 1
    left = core.store.tasks(job_key="www/prod/svc", statuses=[S.FINISHED])
    assert sorted(t.status_at for t in left) == [1400, 1500, 1600]


def test_recovery_marks_vanished_tasks_lost_and_keeps_the_rest(world: Any,
                                                               tmp_path: Path) -> None:
    core, backend, clock, jobs = world
    jobs.create(wire("svc", service=True, instances=2))
    core.run_round()
    first, second = sorted(active(core), key=lambda t: t.instance)
    backend.updates += [StatusUpdate(first.task_id, S.RUNNING), StatusUpdate(second.task_id,
                                                                             S.RUNNING)]
    core.run_round()
    clock.now += 600  # a long run: the replacement is not penalized
    # A new scheduler on the same database; the first task's runner is gone.
    backend2 = ScriptedBackend(core.store)
    backend2.vanished = {first.task_id}
    core2 = Scheduler(core.store, backend2, core.settings, clock=clock)
    core2.recover()
    core2.run_round()
    assert core.store.task(first.task_id).status is S.LOST
    assert core.store.task(second.task_id).status is S.RUNNING
    ids = {t.instance: t for t in core2.cache.job_tasks("www/prod/svc")}
    assert ids[1].task_id == second.task_id and ids[0].ancestor_id == first.task_id
    assert backend2.launched == [ids[0].task_id]  # only the replacement was launched


def test_rolling_restart_moves_one_batch_at_a_time(world: Any) -> None:
    core, backend, _clock, jobs = world
    jobs.create(wire("svc", service=True, instances=3))
    core.run_round()
    for t in active(core):
        backend.updates.append(StatusUpdate(t.task_id, S.RUNNING))
    core.run_round()
    jobs.restart("www/prod/svc", None, 2)
    core.run_round()
    restarting = core.store.tasks(job_key="www/prod/svc", statuses=[S.RESTARTING])
    assert sorted(t.instance for t in restarting) == [0, 1]
    core.run_round()  # killed and replaced, but not RUNNING yet: the next batch waits
    killed = core.store.tasks(job_key="www/prod/svc", statuses=[S.KILLED])
    assert sorted(t.instance for t in killed) == [0, 1]
    assert core.restarts["www/prod/svc"].in_flight.keys() == {0, 1}
    for t in active(core):
        if t.status is S.ASSIGNED:
            backend.updates.append(StatusUpdate(t.task_id, S.RUNNING))
    core.run_round()
    core.run_round()
    assert core.restarts["www/prod/svc"].in_flight.keys() == {2}
