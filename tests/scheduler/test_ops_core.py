"""Cron, quotas, maintenance and preemption in-process: a scripted multi-host backend and an
injected clock, so triggers and delays happen by moving the clock. Each runs on a SQLite
store and on a PostgreSQL one (``store_url``)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aurora_provider.api import models as m
from aurora_provider.api.errors import BackupFailed, Conflict, InvalidRequest, QuotaExceeded
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.model.job_config import JobConfig, Resources
from aurora_provider.framework.operations.backups import restore_backup
from aurora_provider.framework.operations.recovery import StagedRecovery
from aurora_provider.framework.operations.settings import OpsSettings
from aurora_provider.framework.placement.offers import Overhead
from aurora_provider.framework.storage import snapshots
from aurora_provider.framework.storage.store import Store, open_store
from aurora_provider.states.task import TaskState
from tests.fakes import Agent, Clock, FakeBackend, SchedulerWorld, typed

pytestmark = pytest.mark.unit
S = TaskState
# 2026-01-01T00:00:00Z, a Thursday.
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def wire(name: str, *, instances: int = 1, cpu: float = 1.0, role: str = "www",
         cron: str | None = None, policy: str = "KILL_EXISTING", tier: str | None = None,
         priority: int = 0, service: bool = False,
         metadata: Sequence[tuple[str, str]] = ()) -> JobConfig:
    return typed(m.JobConfiguration.model_validate({
        "key": {"cluster": "devcluster", "role": role, "environment": "prod", "name": name},
        "instances": instances, "cron_schedule": cron, "cron_collision_policy": policy,
        "task": {"is_service": service, "tier": tier, "priority": priority,
                 "resources": {"cpu": cpu, "ram_mb": 64, "disk_mb": 64},
                 "metadata": [{"key": k, "value": v} for k, v in metadata],
                 "executor_config": {"data": json.dumps({"name": name})}}}))


class World(SchedulerWorld):
    """Agents with fixed capacity; a launched task holds its resources until it ends."""

    def __init__(self, tmp_path: Path, hosts: Sequence[str] = ("h1",), cpu: float = 4.0,
                 clock: Clock | None = None, store: Store | None = None,
                 backup_interval: float = 0.0, db_url: str | None = None) -> None:
        super().__init__(
            tmp_path, FakeBackend([Agent(h, cpu, 1e6, 1e6) for h in hosts]),
            clock=clock or Clock(T0 + 30), store=store, db_url=db_url,
            settings=SchedulerSettings(overhead=Overhead(0, 0, 0), prune_interval_secs=1e9),
            ops=OpsSettings(preemption_delay_secs=10.0, backup_dir=tmp_path / "b",
                            backup_interval_secs=backup_interval, backups_kept=2))
        self.jobs = self.parts.jobs

    def runs(self, job: str) -> list[Any]:
        return list(reversed(self.parts.cron.runs(job)))


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> World:
    return World(tmp_path, db_url=store_url)


# -- cron -------------------------------------------------------------------------------------


def test_cron_kill_existing_kills_the_previous_run_then_starts(world: World) -> None:
    template = world.parts.cron.schedule(wire("c", cron="*/5 * * * *", instances=2))
    assert template.next_run_at == T0 + 300
    world.rounds()
    assert world.runs("www/prod/c") == []  # not yet due
    world.clock.now = T0 + 300
    world.rounds()
    (first,) = world.runs("www/prod/c")
    assert first.state == "RUNNING" and first.scheduled_at == T0 + 300
    assert len(first.task_ids) == 2
    assert {t.status for t in world.active("www/prod/c")} == {S.RUNNING}
    world.clock.now = T0 + 600  # the next trigger while run 1 still runs
    world.rounds()
    first, second = world.runs("www/prod/c")
    assert first.state == "DONE" and first.outcome == "KILLED"
    assert second.state == "RUNNING" and second.scheduled_at == T0 + 600
    assert set(world.backend.killed) == set(first.task_ids)
    assert {t.task_id for t in world.active("www/prod/c")} == set(second.task_ids)
    for task_id in second.task_ids:
        world.backend.finish(task_id)
    world.rounds()
    second = world.runs("www/prod/c")[1]
    assert second.outcome == "FINISHED" and second.finished_at == T0 + 600


def test_cron_cancel_new_skips_a_run_while_the_previous_is_active(world: World) -> None:
    world.parts.cron.schedule(wire("c", cron="*/5 * * * *", policy="CANCEL_NEW"))
    world.clock.now = T0 + 300
    world.rounds()
    world.clock.now = T0 + 600
    world.rounds()
    first, second = world.runs("www/prod/c")
    assert first.state == "RUNNING"
    assert second.outcome == "CANCELLED" and "CANCEL_NEW" in (second.message or "")
    assert world.backend.killed == []
    (task,) = world.active("www/prod/c")
    world.backend.finish(task.task_id, S.FAILED)
    world.rounds()
    assert world.runs("www/prod/c")[0].outcome == "FAILED"
    world.clock.now = T0 + 900
    world.rounds()
    (task,) = world.active("www/prod/c")
    world.backend.finish(task.task_id)
    world.rounds(1)  # the task ends; its run is settled by the next tick or start
    # Started by hand: runs at once, with no scheduled time.
    run = world.parts.cron.start("www/prod/c")
    assert run.state == "RUNNING" and run.scheduled_at is None
    assert [r.outcome for r in world.runs("www/prod/c")] == [
        "FAILED", "CANCELLED", "FINISHED", None]


def test_cron_refuses_bad_schedules_and_policies(world: World) -> None:
    cron = world.parts.cron
    with pytest.raises(InvalidRequest, match="RUN_OVERLAP is not supported"):
        cron.schedule(wire("c", cron="* * * * *", policy="RUN_OVERLAP"))
    with pytest.raises(InvalidRequest, match="five fields"):
        cron.schedule(wire("c", cron="0 * * * * *"))
    with pytest.raises(InvalidRequest, match="not a valid cron expression"):
        cron.schedule(wire("c", cron="61 * * * *"))
    with pytest.raises(InvalidRequest, match="a service cannot run on a cron schedule"):
        cron.schedule(wire("c", cron="* * * * *", service=True))
    with pytest.raises(InvalidRequest, match="no cron_schedule"):
        cron.schedule(wire("c"))
    with pytest.raises(InvalidRequest, match="not a known time zone"):
        cron.schedule(wire("c", cron="* * * * *", metadata=[("cron_timezone", "Mars/Base")]))


def test_cron_time_zone_from_metadata(world: World) -> None:
    t = world.parts.cron.schedule(wire("tz", cron="0 9 * * *",
                                     metadata=[("cron_timezone", "Asia/Tokyo")]))
    # 09:00 in Tokyo is 00:00 UTC; the clock is just after midnight UTC on Jan 1.
    assert t.next_run_at == T0 + 86400
    assert t.timezone == "Asia/Tokyo"


@pytest.mark.parametrize("catch_up", [True, False])
def test_cron_missed_trigger_runs_once_on_start_only_when_asked(tmp_path: Path, store_url: str,
                                                                catch_up: bool) -> None:
    first = World(tmp_path, db_url=store_url)
    meta = [("cron_catch_up", "true")] if catch_up else []
    first.parts.cron.schedule(wire("c", cron="*/5 * * * *", metadata=meta))
    # The scheduler is down across three triggers; a new one starts on the same store.
    clock = Clock()
    clock.now = T0 + 1000
    second = World(tmp_path, clock=clock, store=first.store, db_url=store_url)
    second.rounds()
    runs = second.runs("www/prod/c")
    if catch_up:
        (run,) = runs
        assert run.scheduled_at == T0 + 900 and run.state == "RUNNING"
    else:
        assert runs == []
    assert second.parts.cron.get("www/prod/c").next_run_at == T0 + 1200


# -- quotas -----------------------------------------------------------------------------------


def test_quota_refuses_create_and_add_beyond_the_role_quota(world: World) -> None:
    with pytest.raises(QuotaExceeded, match=r"role 'www'.*cpu by 2 cores"):
        world.jobs.create(wire("p", instances=2, tier="preferred"))
    world.parts.quotas.set("www", Resources(3, 1024, 1024))
    world.jobs.create(wire("p", instances=2, tier="preferred"))
    world.jobs.create(wire("free", instances=5))  # preemptible: no quota used
    with pytest.raises(QuotaExceeded, match=r"cpu by 1 cores \(quota 3, in use 2, requested 2"):
        world.jobs.add_instances("www/prod/p", 0, 2)
    world.parts.quotas.set("www", Resources(1, 0, 0), increase=True)
    assert world.jobs.add_instances("www/prod/p", 0, 2).instances == [2, 3]
    # The update controller's check: the job's own use is replaced, not added.
    world.parts.quotas.check(wire("p", instances=4, tier="preferred"), 4,
                             replaces="www/prod/p")
    with pytest.raises(QuotaExceeded, match="ram by"):
        world.parts.quotas.check(wire("p", instances=20, tier="preferred", cpu=0.1), 20,
                                 replaces="www/prod/p")
    with pytest.raises(InvalidRequest, match="tier 'gold'"):
        world.jobs.create(wire("bad", tier="gold"))


# -- maintenance ------------------------------------------------------------------------------


def test_drain_moves_tasks_to_another_host_keeping_a_percentage(tmp_path: Path,
                                                                store_url: str) -> None:
    w = World(tmp_path, hosts=("h1", "h2"), cpu=4.0, db_url=store_url)
    m_ = w.parts.maintenance
    m_.start(["h2"])  # SCHEDULED: h1 is preferred
    w.jobs.create(wire("svc", instances=4, service=True, cpu=0.5))
    w.rounds()
    assert {t.host for t in w.active("www/prod/svc")} == {"h1"}
    m_.end(["h2"])
    (status,) = m_.drain(["h1"], percentage=75)
    assert status.mode == "DRAINING"
    # 75% of 4 instances stay RUNNING: one task at a time leaves h1.
    draining = [t for t in w.active("www/prod/svc") if t.status is S.DRAINING]
    assert len(draining) == 1
    for _ in range(8):
        w.rounds(1)
        assert sum(t.status is S.RUNNING for t in w.active("www/prod/svc")) >= 3 or \
            any(t.status is S.PENDING for t in w.active("www/prod/svc"))
    assert {t.host for t in w.active("www/prod/svc")} == {"h2"}
    assert {t.status for t in w.active("www/prod/svc")} == {S.RUNNING}
    assert m_.status(["h1"])[0].mode == "DRAINED"
    w.jobs.create(wire("later", service=True))
    w.rounds()
    assert w.active("www/prod/later")[0].host == "h2"  # nothing lands on a drained host
    m_.end(["h1"])
    assert m_.status(["h1"])[0].mode == "NONE"


# -- preemption -------------------------------------------------------------------------------


def test_preferred_task_preempts_a_preemptible_one_after_the_delay(tmp_path: Path,
                                                                   store_url: str) -> None:
    w = World(tmp_path, hosts=("h1",), cpu=2.0, db_url=store_url)
    w.parts.quotas.set("www", Resources(10, 10_000, 10_000))
    w.jobs.create(wire("batch", instances=2, cpu=1.0, role="other", service=True))
    w.rounds()
    w.jobs.create(wire("prod", cpu=1.0, tier="preferred", service=True))
    w.rounds()
    (pending,) = w.active("www/prod/prod")
    assert pending.status is S.PENDING
    assert w.backend.killed == []  # not before the delay
    w.clock.now += 11
    w.rounds(4)
    (placed,) = w.active("www/prod/prod")
    assert placed.status is S.RUNNING
    assert len(w.backend.killed) == 1
    events = w.store.tasks.events(task_ids=w.backend.killed)[w.backend.killed[0]]
    assert [e.status for e in events][-2:] == [S.PREEMPTING, S.KILLED]
    # The victim was rescheduled and waits for room (THROTTLED when its run was short: as
    # in Aurora, a preemption is not an interruption that spares the flapping penalty).
    statuses = sorted(t.status.value for t in w.active("other/prod/batch"))
    assert statuses in (["PENDING", "RUNNING"], ["RUNNING", "THROTTLED"])


def test_same_role_higher_priority_preempts_and_other_roles_do_not(tmp_path: Path,
                                                                   store_url: str) -> None:
    w = World(tmp_path, hosts=("h1",), cpu=1.0, db_url=store_url)
    w.jobs.create(wire("low", cpu=1.0, priority=0, role="other", service=True))
    w.rounds()
    w.jobs.create(wire("high", cpu=1.0, priority=5, service=True))
    w.rounds()
    w.clock.now += 11
    w.rounds()
    assert w.backend.killed == []  # another role's lower priority is no victim
    w.jobs.kill("other/prod/low", None, "test", None)
    w.rounds()
    w.jobs.create(wire("low2", cpu=1.0, priority=1, service=True))
    w.rounds()
    assert w.active("www/prod/high")[0].status is S.RUNNING
    w.jobs.create(wire("top", cpu=1.0, priority=9, service=True))
    w.rounds()
    w.clock.now += 11
    w.rounds(4)
    assert w.active("www/prod/top")[0].status is S.RUNNING
    (victim,) = w.backend.killed[-1:]
    assert victim.startswith("www-prod-low2-") or victim.startswith("www-prod-high-")


def test_cron_history_is_bounded_and_create_refuses_a_cron_key(world: World) -> None:
    world.store.cron.runs_kept = 2
    world.parts.cron.schedule(wire("c", cron="0 0 1 1 *"))
    with pytest.raises(Conflict, match="is a cron job"):
        world.jobs.create(wire("c"))
    for _ in range(3):
        run = world.parts.cron.start("www/prod/c")
        for task_id in run.task_ids:
            world.backend.finish(task_id)
        world.rounds()
    assert [r.run_id for r in world.runs("www/prod/c")] == [2, 3]


# -- backups ----------------------------------------------------------------------------------


def test_backups_periodic_pruned_and_both_formats_restore(tmp_path: Path, store_url: str) -> None:
    w = World(tmp_path, backup_interval=60, db_url=store_url)
    w.jobs.create(wire("svc", service=True))
    w.parts.quotas.set("www", Resources(1, 2, 3))
    w.rounds()
    assert w.parts.backups.available() == []  # not before one interval
    for _ in range(3):
        w.clock.now += 61
        w.rounds(1)
    found = w.parts.backups.available()
    # A SQLite store is copied as a database, others exported as JSON.
    kind = "sqlite" if store_url.startswith("sqlite") else "json"
    assert len(found) == 2 and all(b.format == kind for b in found)
    restored = w.parts.backups.restore(found[-1].backup_id, tmp_path / "r1")
    # The JSON export (used for databases other than SQLite) restores the same way.
    export = tmp_path / "backup-20260101T000000000000Z.json"
    export.write_text(json.dumps(snapshots.export_tables(w.store.db)))
    from_json = restore_backup(export, tmp_path / "r2")
    for db in (restored, from_json):
        store = open_store(f"sqlite:///{db}")
        assert [r.status for r in store.tasks.tasks(job_key="www/prod/svc")] == [S.RUNNING]
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT cpu, ram_mb FROM quotas")).one() == (1, 2)
        store.close()
    with pytest.raises(BackupFailed, match="not empty"):
        restore_backup(export, tmp_path / "r2")


def test_backups_are_readable_by_the_schedulers_user_only(tmp_path: Path, store_url: str) -> None:
    # A backup is the whole store: other users of the host must not read it.
    w = World(tmp_path, db_url=store_url)
    w.jobs.create(wire("svc", service=True))
    w.rounds()
    old = os.umask(0o022)  # the usual umask, which would give 0644 files and 0755 dirs
    try:
        made = w.parts.backups.backup_now()
    finally:
        os.umask(old)
    path = w.parts.backups.path(made.backup_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not list(path.parent.glob("*.partial"))


def test_a_staged_recovery_replaces_the_live_store(tmp_path: Path, store_url: str) -> None:
    w = World(tmp_path, db_url=store_url)
    w.jobs.create(wire("svc", instances=2, service=True))
    w.rounds()
    backup = w.parts.backups.backup_now()
    w.jobs.create(wire("later", service=True))
    w.rounds()
    recovery = StagedRecovery(lambda staged: snapshots.replace_tables(
        w.store.db, snapshots.export_tables(staged.db)), clock=w.clock)
    recovery.stage(w.parts.backups, backup.backup_id)
    first, second = recovery.active_tasks()
    recovery.delete_tasks([first.task_id])
    committed = recovery.commit(w.parts.backups)
    kind = "sqlite" if store_url.startswith("sqlite") else "json"
    assert committed.safety_backup.format == kind and recovery.staged is None
    assert [t.task_id for t in w.store.tasks.tasks(job_key="www/prod/svc")] == [second.task_id]
    assert w.store.tasks.tasks(job_key="www/prod/later") == []
    # A scheduler started on the recovered store goes on writing to it.
    w.boot(w.backend)
    w.parts.jobs.create(wire("after", service=True))
    w.rounds()
    assert [t.status for t in w.active("www/prod/after")] == [S.RUNNING]
    assert [t.task_id for t in w.active("www/prod/svc")] == [second.task_id]
