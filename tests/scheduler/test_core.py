"""The scheduler core in-process, with a scripted backend and an injected clock.

These cover the timing rules (backoff, timeouts, pruning) without waiting: the clock moves.
Each runs on a SQLite store and on a PostgreSQL one (``store_url``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aurora_provider.api import models as m
from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.backends.base import StatusUpdate
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.states.task import TaskState
from tests.fakes import Agent, FakeBackend, SchedulerWorld, typed

pytestmark = pytest.mark.unit
S = TaskState


def wire(name: str, *, service: bool, instances: int = 1,
         max_task_failures: int = 1) -> m.JobConfiguration:
    return m.JobConfiguration.model_validate({
        "key": {"cluster": "devcluster", "role": "www", "environment": "prod", "name": name},
        "instances": instances,
        "task": {"is_service": service, "max_task_failures": max_task_failures,
                 "resources": {"cpu": 0.5, "ram_mb": 64, "disk_mb": 64},
                 "executor_config": {"data": json.dumps({"name": name})}}})


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> SchedulerWorld:
    settings = SchedulerSettings(flapping_threshold_secs=60, backoff_initial_secs=30,
                                 backoff_max_secs=120, history_max_per_job=3,
                                 history_min_age_secs=10, prune_interval_secs=1e9)
    w = SchedulerWorld(tmp_path, settings=settings, db_url=store_url)
    # Launches nothing; the test says what happens to each task.
    w.boot(FakeBackend(starts="nothing", store=w.store))
    return w


def active(w: SchedulerWorld, job: str = "www/prod/svc") -> list[TaskRow]:
    return w.active(job)


def report(w: SchedulerWorld, state: TaskState, job: str = "www/prod/svc") -> str:
    (task,) = active(w, job)
    w.backend.report(task.task_id, state, state.value.lower())
    w.rounds(1)
    return str(task.task_id)


def test_flapping_service_is_throttled_with_doubling_backoff(world: SchedulerWorld) -> None:
    w, clock, jobs = world, world.clock, world.parts.jobs
    jobs.create(typed(wire("svc", service=True)))
    penalties = []
    for _ in range(4):
        w.rounds(1)
        report(w, S.RUNNING)
        clock.now += 5  # ran 5 s: shorter than the 60 s threshold
        report(w, S.FAILED)
        (task,) = active(w)
        assert task.status is S.THROTTLED
        penalties.append(task.throttle_until - clock.now)
        clock.now += penalties[-1]
        w.rounds(1)
    assert penalties == [30, 60, 120, 120]
    # A long run resets the penalty.
    report(w, S.RUNNING)
    clock.now += 600
    report(w, S.FAILED)
    (task,) = active(w)
    assert task.status is S.ASSIGNED and task.throttle_until is None


def test_transient_states_time_out_to_lost(world: SchedulerWorld) -> None:
    w, clock, jobs = world, world.clock, world.parts.jobs
    jobs.create(typed(wire("svc", service=False)))
    w.rounds(1)
    (task,) = active(w)
    assert task.status is S.ASSIGNED and w.backend.launched == [task.task_id]
    clock.now += 301
    w.rounds(1)
    row = w.store.tasks.task(task.task_id)
    assert row.status is S.LOST and row.message == "Task timed out in ASSIGNED"
    assert task.task_id in w.backend.killed
    (replacement,) = active(w)
    assert replacement.ancestor_id == task.task_id  # LOST always reschedules


def test_every_transition_is_an_event(world: SchedulerWorld) -> None:
    w, jobs = world, world.parts.jobs
    jobs.create(typed(wire("svc", service=False)))
    w.rounds(1)
    report(w, S.RUNNING)
    task_id = report(w, S.FINISHED)
    events = w.store.tasks.events(task_ids=[task_id])[task_id]
    assert [e.status for e in events] == [S.INIT, S.PENDING, S.ASSIGNED, S.RUNNING, S.FINISHED]
    assert not active(w)  # an ad-hoc task that finished is not rescheduled
    assert w.store.jobs.job("www/prod/svc") is None


def test_terminal_history_is_pruned_by_count_and_age(world: SchedulerWorld) -> None:
    w, clock, jobs = world, world.clock, world.parts.jobs
    jobs.create(typed(wire("svc", service=True)))
    for _ in range(6):
        w.rounds(1)
        report(w, S.RUNNING)
        clock.now += 100
        report(w, S.FINISHED)
    assert len(w.store.tasks.tasks(job_key="www/prod/svc", statuses=[S.FINISHED])) == 6
    # Finished at 1100, 1200 ... 1600; keep 3 per job, but nothing younger than 10 s.
    assert w.parts.scheduler.prune(1305.0) == 2  # 1300 is beyond the count but too young
    assert w.parts.scheduler.prune(clock.now) == 1
    left = w.store.tasks.tasks(job_key="www/prod/svc", statuses=[S.FINISHED])
    assert sorted(t.status_at for t in left) == [1400, 1500, 1600]


def test_recovery_marks_vanished_tasks_lost_and_keeps_the_rest(world: SchedulerWorld) -> None:
    w, clock, jobs = world, world.clock, world.parts.jobs
    jobs.create(typed(wire("svc", service=True, instances=2)))
    w.rounds(1)
    first, second = sorted(active(w), key=lambda t: t.instance)
    w.backend.updates += [StatusUpdate(first.task_id, S.RUNNING), StatusUpdate(second.task_id,
                                                                             S.RUNNING)]
    w.rounds(1)
    clock.now += 600  # a long run: the replacement is not penalized
    # A new scheduler on the same database; the first task's runner is gone.
    backend2 = FakeBackend(starts="nothing", store=w.store)
    backend2.vanished = {first.task_id}
    w.boot(backend2)
    w.rounds(1)
    assert w.store.tasks.task(first.task_id).status is S.LOST
    assert w.store.tasks.task(second.task_id).status is S.RUNNING
    ids = {t.instance: t for t in w.active("www/prod/svc")}
    assert ids[1].task_id == second.task_id and ids[0].ancestor_id == first.task_id
    assert backend2.launched == [ids[0].task_id]  # only the replacement was launched


def test_rolling_restart_moves_one_batch_at_a_time(world: SchedulerWorld) -> None:
    w, jobs = world, world.parts.jobs
    jobs.create(typed(wire("svc", service=True, instances=3)))
    w.rounds(1)
    for t in active(w):
        w.backend.updates.append(StatusUpdate(t.task_id, S.RUNNING))
    w.rounds(1)
    jobs.restart("www/prod/svc", None, 2)
    w.rounds(1)
    restarting = w.store.tasks.tasks(job_key="www/prod/svc", statuses=[S.RESTARTING])
    assert sorted(t.instance for t in restarting) == [0, 1]
    w.rounds(1)  # killed and replaced, but not RUNNING yet: the next batch waits
    killed = w.store.tasks.tasks(job_key="www/prod/svc", statuses=[S.KILLED])
    assert sorted(t.instance for t in killed) == [0, 1]
    assert w.parts.restarts.active("www/prod/svc").in_flight.keys() == {0, 1}
    for t in active(w):
        if t.status is S.ASSIGNED:
            w.backend.updates.append(StatusUpdate(t.task_id, S.RUNNING))
    w.rounds(1)
    w.rounds(1)
    assert w.parts.restarts.active("www/prod/svc").in_flight.keys() == {2}


def test_the_cache_keeps_each_jobs_counts_and_order_as_a_recount_would() -> None:
    """The summary's counts and the pages' order are kept as tasks move, not recomputed:
    after every move of a seeded random walk they equal a count of the tasks themselves."""
    import random

    from aurora_provider.framework.core.changes import TaskCache
    from aurora_provider.states.task import TERMINAL

    rng = random.Random(7)
    cache = TaskCache()
    rows: dict[str, TaskRow] = {}
    states = list(TaskState)
    for step in range(2000):
        if rows and rng.random() < 0.7:
            old = rows[rng.choice(sorted(rows))]
            row = TaskRow(old.task_id, old.job_key, old.instance, 1, rng.choice(states),
                          1.0, float(step))
        else:
            row = TaskRow(f"t{step}", f"www/test/j{rng.randrange(3)}", rng.randrange(5), 1,
                          rng.choice(states), 1.0, float(step))
        cache.put(row)
        if row.status in TERMINAL:
            rows.pop(row.task_id, None)
        else:
            rows[row.task_id] = row
        for job in ("www/test/j0", "www/test/j1", "www/test/j2"):
            mine = [r for r in rows.values() if r.job_key == job]
            by_state: dict[TaskState, int] = {}
            for r in mine:
                by_state[r.status] = by_state.get(r.status, 0) + 1
            assert cache.job_states.get(job, {}) == by_state, step
            assert len(cache.job_instances.get(job, {})) == len({r.instance for r in mine})
            assert cache.ordered(job) == sorted((r.instance, r.task_id) for r in mine)


def test_a_large_job_goes_out_in_waves_of_whole_offers(tmp_path: Path, store_url: str) -> None:
    # Three agents with room for two tasks each (0.5 cpu + the executor's 0.25); rounds
    # place at most 2 tasks before they stop opening offers.
    agents = [Agent(f"host-{i}", cpu=1.5) for i in range(3)]
    w = SchedulerWorld(tmp_path, FakeBackend(agents), settings=SchedulerSettings(
        prune_interval_secs=1e9, max_tasks_per_round=2), db_url=store_url)
    w.parts.jobs.create(typed(wire("big", service=True, instances=6)))
    placed = []
    for _ in range(3):
        w.rounds(1)
        placed.append(len(w.backend.launched))
    assert placed == [2, 4, 6]  # one whole agent per round, none left half-used
    hosts = {r.host for r in w.active("www/prod/big")}
    assert hosts == {"host-0", "host-1", "host-2"}


def test_a_job_asking_for_another_executor_is_refused(world: SchedulerWorld) -> None:
    job = wire("custom", service=True).model_dump(mode="json")
    job["task"]["executor_config"]["name"] = "ThermosLite"
    with pytest.raises(InvalidRequest) as refused:
        world.parts.jobs.create(typed(job))
    assert "task.executor_config.name 'ThermosLite': custom executors are not configured" \
        in str(refused.value)
    assert world.active("www/prod/custom") == []
