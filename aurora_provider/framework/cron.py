"""Cron jobs: templates triggered on a ``cron_schedule``, with Aurora's collision policies.

A cron job is a template, not a running job. Each trigger (from the schedule, or ``start``
by hand) is a *run*: it creates the job's instances from the template and is recorded with
its scheduled time, start time, task ids and, once every task of the job is terminal, its
outcome. When the previous run is still active, KILL_EXISTING (the default) kills it and
starts once it is gone; CANCEL_NEW records the new run as CANCELLED. RUN_OVERLAP is refused,
as Aurora refused it.

Schedules are read by croniter in UTC, or in the zone named by the job's metadata key
``cron_timezone``. Triggers that fell while the scheduler was down are skipped (Aurora lost
them), except that a job with the metadata ``cron_catch_up=true`` runs the latest one once.
Everything is driven by ``tick()`` from the scheduling loop with the scheduler's clock.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from croniter import croniter

from aurora_provider.api import models as m
from aurora_provider.framework.core import Scheduler, new_task_id
from aurora_provider.framework.errors import Conflict, InvalidRequest, NotFound
from aurora_provider.framework.quota import check_quota
from aurora_provider.framework.state import TaskState
from aurora_provider.framework.storage import JobRow, Store, TaskRow
from aurora_provider.framework.storage.ops_tables import cron_jobs, cron_runs
from aurora_provider.framework.storage.store import Transaction

log = logging.getLogger(__name__)
S = TaskState

KILL_EXISTING = "KILL_EXISTING"
CANCEL_NEW = "CANCEL_NEW"
POLICIES = (KILL_EXISTING, CANCEL_NEW)
TIMEZONE_KEY = "cron_timezone"
CATCH_UP_KEY = "cron_catch_up"
# Run states and outcomes.
WAITING, RUNNING, DONE = "WAITING", "RUNNING", "DONE"
CANCELLED = "CANCELLED"
RUNS_KEPT = 100


@dataclass(frozen=True)
class CronTemplate:
    job_key: str  # role/environment/name
    config: dict[str, Any]
    schedule: str
    policy: str
    next_run_at: float | None
    created_at: float
    updated_at: float

    def metadata(self, key: str) -> str | None:
        for item in self.config["task"].get("metadata") or []:
            if item.get("key") == key:
                return str(item.get("value"))
        return None

    @property
    def timezone(self) -> str:
        return self.metadata(TIMEZONE_KEY) or "UTC"

    @property
    def catch_up(self) -> bool:
        return (self.metadata(CATCH_UP_KEY) or "").lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class CronRun:
    run_id: int
    job_key: str
    scheduled_at: float | None
    triggered_at: float
    started_at: float | None
    state: str
    outcome: str | None
    task_ids: tuple[str, ...]
    finished_at: float | None
    message: str | None


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise InvalidRequest(f"{where}: {TIMEZONE_KEY} {name!r} is not a known time zone "
                             "(use an IANA name such as 'Europe/Paris')") from e


def validate_schedule(expr: str, where: str) -> None:
    """Aurora took five-field crontab lines; croniter also reads @hourly-style aliases."""
    fields = expr.split()
    if not expr.startswith("@") and len(fields) != 5:
        raise InvalidRequest(f"{where}: cron_schedule {expr!r} must have five fields "
                             "(minute hour day-of-month month day-of-week)")
    if not croniter.is_valid(expr):
        raise InvalidRequest(f"{where}: cron_schedule {expr!r} is not a valid cron expression")


def next_times(expr: str, zone: str, after: float, count: int) -> list[float]:
    """The next ``count`` trigger times strictly after ``after`` (epoch seconds)."""
    it = croniter(expr, datetime.fromtimestamp(after, ZoneInfo(zone)))
    return [float(it.get_next(datetime).timestamp()) for _ in range(count)]


def previous_time(expr: str, zone: str, before: float) -> float:
    it = croniter(expr, datetime.fromtimestamp(before, ZoneInfo(zone)))
    return float(it.get_prev(datetime).timestamp())


def is_cron_job(store: Store, job_key: str) -> bool:
    """Whether ``job_key`` (role/env/name) has a cron template (create refuses such keys)."""
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(cron_jobs.c.job_key).where(
            cron_jobs.c.job_key == job_key)).first()
    return found is not None


def _template(r: sa.Row[Any]) -> CronTemplate:
    return CronTemplate(r.job_key, json.loads(r.config), r.schedule, r.collision_policy,
                        r.next_run_at, r.created_at, r.updated_at)


def _run(r: sa.Row[Any]) -> CronRun:
    return CronRun(r.run_id, r.job_key, r.scheduled_at, r.triggered_at, r.started_at, r.state,
                   r.outcome, tuple(json.loads(r.task_ids)), r.finished_at, r.message)


def _outcome(finals: list[TaskState]) -> str:
    if not finals:
        return "UNKNOWN"
    for state in (S.FAILED, S.LOST, S.KILLED):
        if state in finals:
            return state.value
    return S.FINISHED.value


class CronService:
    def __init__(self, core: Scheduler) -> None:
        self.core = core
        self._templates: dict[str, CronTemplate] = {}
        # Runs not DONE, oldest first: at most a RUNNING one being killed and a WAITING one.
        self._open: dict[str, list[CronRun]] = {}
        self._loaded = False
        self._environments = re.compile(core.settings.allowed_environments)

    # -- storage ----------------------------------------------------------------------

    def _read(self, stmt: sa.Executable) -> list[sa.Row[Any]]:
        with self.core.store.engine.connect() as conn:
            return list(conn.execute(stmt))

    def load(self) -> None:
        """Read templates and open runs; skip (or catch up once) triggers missed while down."""
        with self.core.lock:
            if self._loaded:
                return
            self._loaded = True
            self._templates = {r.job_key: _template(r) for r in self._read(sa.select(cron_jobs))}
            for r in self._read(sa.select(cron_runs).where(cron_runs.c.state != DONE)
                                .order_by(cron_runs.c.run_id)):
                self._open.setdefault(r.job_key, []).append(_run(r))
            now = self.core.clock()
            for t in list(self._templates.values()):
                if t.next_run_at is None or t.next_run_at > now:
                    continue
                missed = previous_time(t.schedule, t.timezone, now)
                if t.catch_up:
                    log.info("cron %s: running the trigger of %s missed while down", t.job_key,
                             datetime.fromtimestamp(missed, UTC).isoformat())
                    self._trigger(t, missed, "catch-up of a trigger missed while down")
                else:
                    log.info("cron %s: skipping triggers missed while the scheduler was down",
                             t.job_key)
                self._save_next(t, now)

    def _save_next(self, t: CronTemplate, now: float) -> CronTemplate:
        nxt = next_times(t.schedule, t.timezone, now, 1)[0]
        updated = replace(t, next_run_at=nxt)
        with self.core.store.transaction() as tx:
            tx.connection.execute(cron_jobs.update().where(cron_jobs.c.job_key == t.job_key)
                                  .values(next_run_at=nxt))
        self._templates[t.job_key] = updated
        return updated

    # -- operations ---------------------------------------------------------------------

    def schedule(self, job: m.JobConfiguration) -> CronTemplate:
        where = f"job {job.key}"
        if job.key.cluster != self.core.settings.cluster:
            raise InvalidRequest(f"{where} is for cluster {job.key.cluster!r}, this scheduler "
                                 f"runs {self.core.settings.cluster!r}")
        if not self._environments.match(job.key.environment):
            raise InvalidRequest(f"{where}: environment {job.key.environment!r} must match "
                                 f"{self._environments.pattern}")
        if not job.cron_schedule:
            raise InvalidRequest(f"{where} has no cron_schedule; create it with "
                                 "'aurora job create'")
        validate_schedule(job.cron_schedule, where)
        if job.task.is_service:
            raise InvalidRequest(f"{where}: a service cannot run on a cron schedule")
        policy = job.cron_collision_policy or KILL_EXISTING
        if policy == "RUN_OVERLAP":
            raise InvalidRequest(f"{where}: cron_collision_policy RUN_OVERLAP is not supported "
                                 "(Aurora removed it); use KILL_EXISTING or CANCEL_NEW")
        if policy not in POLICIES:
            raise InvalidRequest(f"{where}: cron_collision_policy {policy!r} must be "
                                 "KILL_EXISTING or CANCEL_NEW")
        config = job.model_dump(mode="json")
        probe = CronTemplate(job.key.path(), config, job.cron_schedule, policy, None, 0, 0)
        _zone(probe.timezone, where)
        job_key = job.key.path()
        with self.core.lock:
            self.load()
            if job_key not in self._templates and self.core.store.job(job_key) is not None:
                raise Conflict(f"{where} exists and is not a cron job; kill it first")
            check_quota(self.core, config, job.instances, replaces=job_key)
            now = self.core.clock()
            old = self._templates.get(job_key)
            template = replace(probe, created_at=old.created_at if old else now, updated_at=now,
                               next_run_at=next_times(probe.schedule, probe.timezone, now, 1)[0])
            with self.core.store.transaction() as tx:
                conn = tx.connection
                conn.execute(cron_jobs.delete().where(cron_jobs.c.job_key == job_key))
                conn.execute(cron_jobs.insert().values(
                    job_key=job_key, config=json.dumps(config, sort_keys=True),
                    schedule=template.schedule, collision_policy=policy,
                    next_run_at=template.next_run_at, created_at=template.created_at,
                    updated_at=now))
            self._templates[job_key] = template
        return template

    def deschedule(self, job_key: str) -> CronTemplate:
        """Remove the template; a run in progress keeps running (as in Aurora)."""
        with self.core.lock:
            self.load()
            template = self.get(job_key)
            with self.core.store.transaction() as tx:
                tx.connection.execute(cron_jobs.delete().where(cron_jobs.c.job_key == job_key))
            del self._templates[job_key]
        return template

    def get(self, job_key: str) -> CronTemplate:
        self.load()
        found = self._templates.get(job_key)
        if found is None:
            raise NotFound(f"no cron job {self.core.settings.cluster}/{job_key} is scheduled")
        return found

    def templates(self) -> list[CronTemplate]:
        self.load()
        return sorted(self._templates.values(), key=lambda t: t.job_key)

    def start(self, job_key: str) -> CronRun:
        """Trigger a run now, under the job's collision policy."""
        with self.core.lock:
            template = self.get(job_key)
            return self._trigger(template, None, "started by hand")

    def runs(self, job_key: str, limit: int = 20) -> list[CronRun]:
        """The job's runs, newest first."""
        stmt = (sa.select(cron_runs).where(cron_runs.c.job_key == job_key)
                .order_by(cron_runs.c.run_id.desc()).limit(limit))
        return [_run(r) for r in self._read(stmt)]

    # -- the loop -------------------------------------------------------------------------

    def tick(self) -> None:
        """Advance open runs, then fire due triggers (called under the core's lock)."""
        self.load()
        now = self.core.clock()
        for job_key in list(self._open):
            self._advance(job_key)
        for t in list(self._templates.values()):
            if t.next_run_at is not None and t.next_run_at <= now:
                self._trigger(t, t.next_run_at, None)
                self._save_next(t, now)

    def _advance(self, job_key: str) -> None:
        if self.core.cache.job_tasks(job_key):
            return  # a run (or the one being killed for the next) is still active
        runs = list(self._open.get(job_key, []))
        for run in runs:
            if run.state == RUNNING:
                self._finish(run, self._outcome_of(run), None)
        waiting = [r for r in runs if r.state == WAITING]
        for stale in waiting[:-1]:
            self._finish(stale, CANCELLED, "superseded by a later run")
        if waiting:
            template = self._templates.get(job_key)
            if template is None:
                self._finish(waiting[-1], CANCELLED, "descheduled before it could start")
            else:
                self._launch(template, waiting[-1])

    def _outcome_of(self, run: CronRun) -> str:
        """From the last task of each instance created since the run started."""
        started = run.started_at or 0.0
        latest: dict[int, TaskRow] = {}
        for row in self.core.store.tasks(job_key=run.job_key):
            seen = latest.get(row.instance)
            if row.created_at >= started and (seen is None or row.created_at >= seen.created_at):
                latest[row.instance] = row
        return _outcome([r.status for r in latest.values()])

    def _finish(self, run: CronRun, outcome: str, message: str | None) -> None:
        now = self.core.clock()
        with self.core.store.transaction() as tx:
            conn = tx.connection
            conn.execute(cron_runs.update().where(cron_runs.c.run_id == run.run_id)
                         .values(state=DONE, outcome=outcome, finished_at=now,
                                 message=message or run.message))
            # Keep the newest RUNS_KEPT runs of each job, as task history is bounded too.
            kept = (sa.select(cron_runs.c.run_id).where(cron_runs.c.job_key == run.job_key)
                    .order_by(cron_runs.c.run_id.desc()).limit(RUNS_KEPT))
            conn.execute(cron_runs.delete().where(
                cron_runs.c.job_key == run.job_key, cron_runs.c.state == DONE,
                cron_runs.c.run_id.not_in(kept)))
        left = [r for r in self._open.get(run.job_key, []) if r.run_id != run.run_id]
        if left:
            self._open[run.job_key] = left
        else:
            self._open.pop(run.job_key, None)

    def _insert_run(self, tx: Transaction, values: Mapping[str, Any]) -> int:
        result = tx.connection.execute(cron_runs.insert().values(**values))
        key = result.inserted_primary_key
        return int(key[0]) if key is not None else 0

    def _trigger(self, t: CronTemplate, scheduled_at: float | None,
                 message: str | None) -> CronRun:
        now = self.core.clock()
        base = {"job_key": t.job_key, "scheduled_at": scheduled_at, "triggered_at": now,
                "started_at": None, "task_ids": "[]", "finished_at": None, "message": message}
        active = self.core.cache.job_tasks(t.job_key)
        if not active:
            self._advance(t.job_key)  # settle a run that ended since the last round
            active = self.core.cache.job_tasks(t.job_key)
        open_runs = self._open.get(t.job_key, [])
        if not active and not open_runs:
            return self._launch(t, None, base)
        waiting = any(r.state == WAITING for r in open_runs)
        if t.policy == CANCEL_NEW or waiting:
            why = f"{t.policy}: the previous run is still active"
            values = {**base, "state": DONE, "outcome": CANCELLED, "finished_at": now,
                      "message": why}
            with self.core.store.transaction() as tx:
                run_id = self._insert_run(tx, values)
            log.info("cron %s: run %d cancelled (%s)", t.job_key, run_id, why)
            return self._row_run(run_id, values)
        # KILL_EXISTING: kill what runs now; the run starts once it is gone.
        ch = self.core.changes()
        text = f"Killed by cron ({KILL_EXISTING}) for a new run"
        for row in active:
            self.core.kill(ch, row, text)
        values = {**base, "state": WAITING, "outcome": None}
        ids: list[int] = []
        self.core.commit(ch, lambda tx: ids.append(self._insert_run(tx, values)))
        run = self._row_run(ids[0], values)
        self._open.setdefault(t.job_key, []).append(run)
        return run

    def _launch(self, t: CronTemplate, waiting: CronRun | None,
                base: Mapping[str, Any] | None = None) -> CronRun:
        now = self.core.clock()
        config_json = json.dumps(t.config, sort_keys=True, separators=(",", ":"))
        with self.core.store.transaction() as tx:
            config_id = tx.add_config(t.job_key, config_json, now)
        ch = self.core.changes()
        task_ids = []
        for instance in range(int(t.config["instances"])):
            row = ch.create(TaskRow(
                task_id=new_task_id(t.job_key, instance), job_key=t.job_key, instance=instance,
                config_id=config_id, status=S.INIT, created_at=now, status_at=now))
            ch.move(row, S.PENDING, "Launched by cron")
            task_ids.append(row.task_id)
        cluster = str(t.config["key"]["cluster"])
        changes = {"state": RUNNING, "started_at": now, "task_ids": json.dumps(task_ids)}
        ids: list[int] = []

        def record(tx: Transaction) -> None:
            tx.save_job(JobRow(t.job_key, cluster, config_id, now, now))
            if waiting is not None:
                tx.connection.execute(cron_runs.update().where(
                    cron_runs.c.run_id == waiting.run_id).values(**changes))
                ids.append(waiting.run_id)
            else:
                ids.append(self._insert_run(tx, {**(base or {}), "outcome": None, **changes}))

        self.core.commit(ch, record)
        if waiting is not None:
            run = replace(waiting, state=RUNNING, started_at=now, task_ids=tuple(task_ids))
        else:
            run = self._row_run(ids[0], {**(base or {}), "outcome": None, **changes})
        others = [r for r in self._open.get(t.job_key, []) if r.run_id != run.run_id]
        self._open[t.job_key] = [*others, run]
        log.info("cron %s: run %d started %d task(s)", t.job_key, run.run_id, len(task_ids))
        return run

    @staticmethod
    def _row_run(run_id: int, v: Mapping[str, Any]) -> CronRun:
        return CronRun(run_id, str(v["job_key"]), v["scheduled_at"], float(v["triggered_at"]),
                       v["started_at"], str(v["state"]), v["outcome"],
                       tuple(json.loads(str(v["task_ids"]))), v["finished_at"], v["message"])
