"""The update controller in-process: a backend that obeys at once, and an injected clock.

Every update path is covered here without waiting: watch_secs and pulses pass by moving the
clock. ``test_updates_daemon.py`` runs the same paths through the real daemon.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.api import models as m
from aurora_provider.api.errors import Conflict, InvalidRequest, NotFound, QuotaExceeded
from aurora_provider.framework.backends.base import StatusUpdate
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.updates import UpdateWrite
from aurora_provider.states.instance_update import InstanceAction
from aurora_provider.states.task import TaskState
from aurora_provider.states.update import UpdateStatus
from tests.fakes import Agent, FakeBackend, SchedulerWorld, typed

pytestmark = pytest.mark.unit
S = TaskState
U = UpdateStatus
A = InstanceAction
JOB = "www/prod/svc"


def wire(version: str, *, instances: int = 4, **update: Any) -> JobConfig:
    return typed(m.JobConfiguration.model_validate({
        "key": {"cluster": "devcluster", "role": "www", "environment": "prod", "name": "svc"},
        "instances": instances,
        "task": {"is_service": True, "max_task_failures": 1,
                 "resources": {"cpu": 0.5, "ram_mb": 64, "disk_mb": 64},
                 "executor_config": {"data": json.dumps(
                     {"version": version, "instances": instances, "update_config": update})}},
        "update_config": {"watch_secs": 10, **update}}))


def instant(world: World) -> FakeBackend:
    """Tasks run as soon as they are launched; a configuration whose executor data holds
    ``"crash"`` fails instead. Kills end tasks at once."""
    return FakeBackend([Agent("host-1", 1000, 1_000_000, 1_000_000)], crash_marker="crash",
                       store=world.store)


class World(SchedulerWorld):
    def __init__(self, tmp_path: Path, db_url: str) -> None:
        super().__init__(tmp_path, settings=SchedulerSettings(flapping_threshold_secs=0,
                                                              prune_interval_secs=1e9),
                         db_url=db_url)
        self.restart()

    def restart(self) -> None:
        """A new core and controller on the same database."""
        self.boot(instant(self))
        self.jobs = self.parts.jobs
        self.updates = self.parts.updates

    def versions(self) -> dict[int, str]:
        out = {}
        for row in self.parts.ledger.active(JOB):
            data = json.loads(self.parts.ledger.config(row.config_id).task.executor_data)
            out[row.instance] = f"{data['version']}:{row.status.value}"
        return dict(sorted(out.items()))

    def status(self) -> UpdateStatus:
        return self.updates.get(JOB).status

    def actions(self) -> list[tuple[int, str]]:
        record = self.updates.get(JOB)
        return [(e.instance, e.action.value)
                for e in self.updates.instance_events(record.update_id)]

    def run_until(self, *statuses: UpdateStatus, step: float = 5.0, limit: int = 200) -> None:
        for _ in range(limit):
            if self.status() in statuses:
                return
            self.rounds(1, step)
        raise AssertionError(f"update still {self.status()}, wanted {statuses}")


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> World:
    """On a SQLite store, then on a PostgreSQL one."""
    w = World(tmp_path, store_url)
    w.jobs.create(wire("v1"))
    w.rounds(3)
    assert w.versions() == {i: "v1:RUNNING" for i in range(4)}
    return w


def test_success_replaces_every_instance_in_batches(world: World) -> None:
    record = world.updates.start(wire("v2", batch_size=2), "alice", "deploy v2")
    assert record.status is U.ROLLING_FORWARD
    assert record.scope == {"add": [], "remove": [], "replace": [0, 1, 2, 3]}
    world.rounds(4)
    # The first batch runs v2 but is still watched: the second has not started.
    assert world.versions() == {0: "v2:RUNNING", 1: "v2:RUNNING", 2: "v1:RUNNING",
                                3: "v1:RUNNING"}
    world.run_until(U.ROLLED_FORWARD)
    assert world.versions() == {i: "v2:RUNNING" for i in range(4)}
    assert world.actions()[:2] == [(0, "INSTANCE_UPDATING"), (1, "INSTANCE_UPDATING")]
    assert sorted(a for a in world.actions() if a[1] == "INSTANCE_UPDATED") == [
        (i, "INSTANCE_UPDATED") for i in range(4)]
    events = world.updates.events(record.update_id)
    assert [(e.status, e.user, e.message) for e in events] == [
        (U.ROLLING_FORWARD, "alice", "deploy v2"), (U.ROLLED_FORWARD, None, None)]
    job = world.store.jobs.job(JOB)
    assert job is not None and job.config_id == record.desired_config_id


def test_instance_count_change_adds_and_removes_only(world: World) -> None:
    record = world.updates.start(wire("v1", instances=6), "alice")
    assert record.scope == {"add": [4, 5], "remove": [], "replace": []}
    world.run_until(U.ROLLED_FORWARD)
    assert world.versions() == {i: "v1:RUNNING" for i in range(6)}
    shrink = world.updates.start(wire("v1", instances=2), "alice")
    assert shrink.scope == {"add": [], "remove": [2, 3, 4, 5], "replace": []}
    world.run_until(U.ROLLED_FORWARD)
    assert world.versions() == {0: "v1:RUNNING", 1: "v1:RUNNING"}


def test_one_active_update_per_job_and_noop_refused(world: World) -> None:
    with pytest.raises(InvalidRequest, match="unchanged"):
        world.updates.start(wire("v1"), "alice")
    world.updates.start(wire("v2"), "alice")
    with pytest.raises(Conflict, match="already has an active update"):
        world.updates.start(wire("v3"), "alice")
    other = typed({**wire("v2").wire, "key": {
        "cluster": "devcluster", "role": "www", "environment": "prod", "name": "nope"}})
    created = world.updates.start(other, "alice")  # a missing job: the update creates it
    assert created.creates_job and created.scope["add"] == list(range(other.instances))


def test_instance_failure_within_tolerance_rolls_forward(world: World) -> None:
    # Instance failures up to max_per_shard_failures are retried, not fatal.
    world.updates.start(wire("v2", max_per_shard_failures=1, batch_size=4), "alice")
    world.rounds(3)
    (instance0,) = [r for r in world.parts.ledger.active(JOB) if r.instance == 0]
    world.backend.updates.append(StatusUpdate(instance0.task_id, S.FAILED, "crashed once"))
    world.run_until(U.ROLLED_FORWARD)
    record = world.updates.get(JOB)
    assert record.progress[0].failures == 1
    assert world.versions() == {i: "v2:RUNNING" for i in range(4)}


def test_total_failure_rolls_back_in_reverse_order(world: World) -> None:
    record = world.updates.start(wire("crash", batch_size=2, max_total_failures=1), "alice")
    world.run_until(U.ROLLED_BACK, U.FAILED)
    assert world.status() is U.ROLLED_BACK
    assert world.versions() == {i: "v1:RUNNING" for i in range(4)}
    actions = world.actions()
    assert (0, "INSTANCE_UPDATE_FAILED") in actions and (1, "INSTANCE_UPDATE_FAILED") in actions
    rolling_back = [i for i, a in actions if a == "INSTANCE_ROLLING_BACK"]
    assert rolling_back == [1, 0]  # reversed
    statuses = [e.status for e in world.updates.events(record.update_id)]
    assert statuses == [U.ROLLING_FORWARD, U.ROLLING_BACK, U.ROLLED_BACK]
    job = world.store.jobs.job(JOB)
    assert job is not None and job.config_id != record.desired_config_id


def test_rollback_disabled_fails(world: World) -> None:
    world.updates.start(wire("crash", rollback_on_failure=False), "alice")
    world.run_until(U.ROLLED_BACK, U.FAILED)
    assert world.status() is U.FAILED
    assert (0, "INSTANCE_UPDATE_FAILED") in world.actions()
    assert world.versions()[3] == "v1:RUNNING"  # the rest was never touched


def test_pause_resume_abort(world: World) -> None:
    record = world.updates.start(wire("v2"), "alice")
    world.rounds(3)
    paused = world.updates.pause(JOB, "bob", "hold on")
    assert paused.status is U.ROLL_FORWARD_PAUSED
    with pytest.raises(Conflict):
        world.updates.pause(JOB, "bob")
    world.rounds(10, step=20)  # the instance in flight finishes; no new one starts
    assert world.versions() == {0: "v2:RUNNING", 1: "v1:RUNNING", 2: "v1:RUNNING",
                                3: "v1:RUNNING"}
    assert world.updates.resume(JOB, "bob").status is U.ROLLING_FORWARD
    world.rounds(3, step=20)
    assert world.versions()[1] == "v2:RUNNING"
    assert world.updates.abort(JOB, "bob", "enough").status is U.ABORTED
    world.rounds(10, step=20)
    assert world.versions()[3] == "v1:RUNNING"
    with pytest.raises(Conflict, match="no active update"):
        world.updates.resume(JOB, "bob")
    events = world.updates.events(record.update_id)
    assert [(e.status.value, e.user) for e in events] == [
        ("ROLLING_FORWARD", "alice"), ("ROLL_FORWARD_PAUSED", "bob"),
        ("ROLLING_FORWARD", "bob"), ("ABORTED", "bob")]


def test_user_rollback(world: World) -> None:
    world.updates.start(wire("v2", batch_size=2), "alice")
    world.rounds(4, step=20)
    world.updates.rollback(JOB, "bob", "bad idea")
    world.run_until(U.ROLLED_BACK)
    assert world.versions() == {i: "v1:RUNNING" for i in range(4)}


def test_pulse_blocks_until_pulsed_and_times_out(world: World) -> None:
    record = world.updates.start(wire("v2", pulse_interval_secs=60), "alice")
    assert record.status is U.ROLL_FORWARD_AWAITING_PULSE
    world.rounds(5, step=5)
    assert world.versions()[0] == "v1:RUNNING"  # nothing moves without a pulse
    assert world.updates.pulse(JOB, "coordinator").status is U.ROLLING_FORWARD
    world.rounds(4, step=5)
    assert world.versions()[0] == "v2:RUNNING"
    world.clock.now += 61
    world.rounds(1)
    assert world.status() is U.ROLL_FORWARD_AWAITING_PULSE
    events = world.updates.events(record.update_id)
    assert events[-1].message == "no pulse within 60 s"
    world.updates.abort(JOB, "alice")
    world.updates.start(wire("v3"), "alice")
    with pytest.raises(InvalidRequest, match="does not need pulses"):
        world.updates.pulse(JOB, "coordinator")


def test_strategies_with_autopause(world: World) -> None:
    world.updates.start(wire("v2", update_strategy={
        "batch_sizes": [1, 3], "autopause_after_batch": True}), "alice")
    world.run_until(U.ROLL_FORWARD_PAUSED)
    assert list(world.versions().values()).count("v2:RUNNING") == 1
    world.updates.resume(JOB, "alice")
    world.run_until(U.ROLLED_FORWARD)
    assert world.versions() == {i: "v2:RUNNING" for i in range(4)}
    # Batch strategy: groups of 2, waiting for each to finish.
    world.updates.start(wire("v3", update_strategy={"batch_size": 2,
                                                    "autopause_after_batch": True}), "alice")
    world.run_until(U.ROLL_FORWARD_PAUSED)
    assert list(world.versions().values()).count("v3:RUNNING") == 2
    world.updates.resume(JOB, "alice")
    world.run_until(U.ROLLED_FORWARD)
    # Queue strategy: at most batch_size in flight.
    world.updates.start(wire("v4", update_strategy={"batch_size": 3}), "alice")
    world.rounds(4)
    assert list(world.versions().values()).count("v4:RUNNING") == 3
    world.run_until(U.ROLLED_FORWARD)


def test_update_survives_a_scheduler_restart(world: World, tmp_path: Path) -> None:
    record = world.updates.start(wire("v2", batch_size=2), "alice")
    world.rounds(4)
    world.restart()  # a new core and controller on the same database
    assert world.parts.active_updates.get(JOB).update_id == record.update_id
    world.run_until(U.ROLLED_FORWARD)
    assert world.versions() == {i: "v2:RUNNING" for i in range(4)}
    updated = [i for i, a in world.actions() if a == "INSTANCE_UPDATED"]
    assert sorted(updated) == [0, 1, 2, 3]  # each exactly once


def test_broken_update_ends_in_error_and_scheduling_goes_on(world: World) -> None:
    record = world.updates.start(wire("v2"), "alice")
    # Bad data (a configuration that is not in the store): the update ends ERROR.
    current = world.parts.active_updates.get(JOB)
    bad = current.with_progress(0, replace(current.progress[0], desired=999_999))
    with world.store.transaction() as tx:
        world.store.updates.write(tx, UpdateWrite(records=[bad]))
    world.restart()
    world.rounds(2)
    assert world.status() is U.ERROR
    events = world.updates.events(record.update_id)
    assert events[-1].message is not None and "task configuration 999999" in events[-1].message
    world.jobs.create(typed({**wire("v1").wire, "key": {
        "cluster": "devcluster", "role": "www", "environment": "prod", "name": "other"}}))
    world.rounds(3)
    assert len(world.parts.ledger.active("www/prod/other")) == 4


def test_abort_leaves_no_instance_without_a_task(world: World) -> None:
    world.updates.start(wire("v2"), "alice")
    world.rounds(1)  # instance 0's old task is being killed; its new one is not added yet
    assert world.versions()[0] == "v1:KILLING"
    world.updates.abort(JOB, "bob")
    world.rounds(3)
    assert world.versions() == {0: "v2:RUNNING", 1: "v1:RUNNING", 2: "v1:RUNNING",
                                3: "v1:RUNNING"}


def test_a_job_being_updated_refuses_kill_restart_and_add(world: World) -> None:
    # As Aurora's assertNotUpdating: changing a job under an active update would fight it.
    record = world.updates.start(wire("v2"), "alice")
    for change in (lambda: world.jobs.kill(JOB, [1], "bob", None),
                   lambda: world.jobs.restart(JOB, None, 1),
                   lambda: world.jobs.add_instances(JOB, 0, 1)):
        with pytest.raises(Conflict, match=f"active update {record.update_id}"):
            change()
    world.run_until(U.ROLLED_FORWARD)
    world.jobs.kill(JOB, [1], "bob", None)  # free again once the update is over


def test_an_update_beyond_the_roles_quota_is_refused(world: World) -> None:
    production = wire("v2")
    production = typed({**production.wire, "task": {**production.wire["task"],
                                                    "production": True}})
    with pytest.raises(QuotaExceeded, match="insufficient production quota for role 'www'"):
        world.updates.start(production, "alice")
    with pytest.raises(NotFound, match="never been updated"):  # nothing half-written
        world.updates.get(JOB)
