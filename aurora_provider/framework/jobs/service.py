"""Job operations behind the API: create, kill, restart, add instances, status, list, diff.

Every write goes through the ledger's lock and commit. The job's guards (an active update)
and the quota check are given at construction.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.api.errors import (
    Conflict,
    InvalidRequest,
    JobExists,
    JobNotFound,
    TaskNotFound,
)
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.core.ports import JobGuards, QuotaCheck
from aurora_provider.framework.jobs.admission import Admission
from aurora_provider.framework.jobs.diff import job_diff
from aurora_provider.framework.jobs.pages import JobPages
from aurora_provider.framework.jobs.restarts import RollingRestarts
from aurora_provider.framework.jobs.status import restart_model, task_document, task_model
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.restarts import RestartLimits
from aurora_provider.framework.storage.rows import EventRow, JobRow, TaskRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import TERMINAL


class JobService:
    def __init__(self, ledger: TaskLedger, store: Store, admission: Admission,
                 restarts: RollingRestarts, quota: QuotaCheck,
                 guards: JobGuards) -> None:
        self._ledger = ledger
        self._store = store
        self._admission = admission
        self._restarts = restarts
        self._quota = quota
        self._guards = guards
        self.cluster = admission.cluster
        self._pages = JobPages(ledger, store, self.cluster)

    def _full(self, job_key: str) -> str:
        return f"{self.cluster}/{job_key}"

    # -- writes ------------------------------------------------------------------------------

    def create(self, config: JobConfig) -> m.CreateJobResponse:
        self._admission.for_create(config)
        job_key = config.job_key
        ledger = self._ledger
        with ledger.lock:
            if self._store.jobs.job(job_key) is not None:
                raise JobExists(f"job {config.key} already exists; kill it or use an update")
            if self._store.cron.is_cron_job(job_key):
                raise Conflict(f"job {config.key} is a cron job; deschedule it first")
            stopping = ledger.active(job_key)
            if stopping:
                raise Conflict(f"job {config.key} still has {len(stopping)} task(s) stopping; "
                               "create it again once they are gone")
            self._admission.check_role_jobs(config)
            self._quota.check(config, config.instances)
            now = ledger.now()
            # The configuration first (idempotent by its text), so tasks can name it.
            with self._store.transaction() as tx:
                config_id = self._store.jobs.add_config(tx, config, now)
            ch = ledger.changes()
            rows = ledger.create(ch, job_key, config_id, range(config.instances))
            job = JobRow(job_key, config.key.cluster, config_id, ch.now, ch.now)
            ch.also(lambda tx: self._store.jobs.save(tx, job))
            ledger.commit(ch)
        return m.CreateJobResponse(key=str(config.key), task_ids=[r.task_id for r in rows])

    def kill(self, job_key: str, instances: Sequence[int] | None, user: str,
             message: str | None) -> m.KillResponse:
        text = message or f"Killed by {user}"
        ledger = self._ledger
        with ledger.lock:
            self._guards.check(job_key)
            ch = ledger.changes()
            rows = list(ch.job_tasks(job_key))
            if not rows and self._store.jobs.job(job_key) is None:
                raise JobNotFound(f"job {self._full(job_key)} has no active tasks")
            wanted = None if instances is None else set(instances)
            ch.touched_jobs.add(job_key)  # deleted below when nothing stays active
            killed = []
            for row in rows:
                if wanted is not None and row.instance not in wanted:
                    continue
                ledger.kill(ch, row, text)
                killed.append(row.task_id)
            self._restarts.drop(ch, job_key, wanted)
            ledger.commit(ch)
        return m.KillResponse(key=self._full(job_key), killed=sorted(killed))

    def restart(self, job_key: str, instances: Sequence[int] | None, batch_size: int = 1, *,
                watch_secs: float = 0, max_per_instance_failures: int = 0,
                max_total_failures: int = 0) -> m.RestartModel:
        limits = RestartLimits(batch_size, watch_secs, max_per_instance_failures,
                               max_total_failures)
        with self._ledger.lock:
            self._guards.check(job_key)
            row = self._restarts.start(job_key, instances, limits)
        return restart_model(self.cluster, row)

    def restart_status(self, job_key: str) -> m.RestartModel:
        return restart_model(self.cluster, self._restarts.status(job_key))

    def add_instances(self, job_key: str, template: int, count: int) -> m.AddInstancesResponse:
        ledger = self._ledger
        with ledger.lock:
            self._guards.check(job_key)
            rows = ledger.active(job_key)
            source = next((r for r in rows if r.instance == template), None)
            if source is None:
                raise JobNotFound(f"job {self._full(job_key)} has no active instance "
                                  f"{template}")
            config = ledger.config(source.config_id)
            total = len({r.instance for r in rows}) + count
            if total > self._admission.max_instances:
                raise InvalidRequest(f"job {self._full(job_key)} would have {total} instances, "
                                     f"over the limit of {self._admission.max_instances} "
                                     "(--max-tasks-per-job)")
            self._quota.check(config, count)
            first = max(r.instance for r in rows) + 1
            new = list(range(first, first + count))
            ch = ledger.changes()
            added = ledger.create(ch, job_key, source.config_id, new)
            ledger.commit(ch)
        return m.AddInstancesResponse(key=self._full(job_key), instances=new,
                                      task_ids=[r.task_id for r in added])

    # -- reads -------------------------------------------------------------------------------

    def status(self, job_key: str) -> m.JobStatus:
        return m.JobStatus.model_validate(self.status_document(job_key))

    def status_document(self, job_key: str) -> dict[str, Any]:
        """The job's status as plain JSON types (``JobStatus``'s shape)."""
        tasks = self._store.tasks
        rows = tasks.tasks(job_key=job_key)
        job = self._store.jobs.job(job_key)
        if not rows and job is None:
            raise JobNotFound(f"job {self._full(job_key)} not found")
        events = tasks.events(job_key=job_key)
        reasons = self._ledger.pending_reasons()
        active: list[dict[str, Any]] = []
        terminal: list[dict[str, Any]] = []
        for row in rows:
            doc = task_document(row, events.get(row.task_id, ()), reasons.get(row.task_id))
            (terminal if row.status in TERMINAL else active).append(doc)
        return {"key": self._full(job_key), "exists": job is not None, "active": active,
                "terminal": terminal}

    def summary(self, job_key: str) -> m.JobStatusSummary:
        """The job's tasks counted by state, and what its configuration asks for."""
        return self._pages.summary(job_key)

    def task_page(self, job_key: str, limit: int, cursor: str | None,
                  events: bool) -> dict[str, Any]:
        """Up to ``limit`` tasks after ``cursor`` (``TaskPage``'s shape, plain JSON)."""
        return self._pages.page(job_key, limit, cursor, events)

    def task(self, task_id: str) -> m.TaskModel:
        row = self._store.tasks.task(task_id)
        if row is None:
            raise TaskNotFound(f"task {task_id} not found")
        events = self._store.tasks.events(task_ids=[task_id]).get(task_id, [])
        return task_model(row, events, self._ledger.pending_reason(task_id))

    # The stored rows, for the Thrift API's face (its queries span jobs; it shapes them).
    def jobs(self) -> list[JobRow]:
        return self._store.jobs.jobs()

    def task_rows(self, *, job_key: str | None = None,
                  task_ids: Sequence[str] | None = None) -> list[TaskRow]:
        return self._store.tasks.tasks(job_key=job_key, task_ids=task_ids)

    def task_events(self, task_ids: Sequence[str]) -> dict[str, list[EventRow]]:
        return self._store.tasks.events(task_ids=task_ids)

    def config(self, config_id: int) -> JobConfig:
        return self._ledger.config(config_id)

    def pending_reasons(self) -> Mapping[str, str]:
        return self._ledger.pending_reasons()

    def list(self, pattern: str | None) -> m.JobList:
        jobs = []
        for job in self._store.jobs.jobs():
            full = f"{job.cluster}/{job.job_key}"
            if pattern and not (fnmatch.fnmatchcase(full, pattern)
                                or fnmatch.fnmatchcase(job.job_key, pattern)):
                continue
            rows = self._ledger.active(job.job_key)
            counts: dict[str, int] = {}
            for row in rows:
                counts[row.status.value] = counts.get(row.status.value, 0) + 1
            config = self._ledger.config(job.config_id)
            jobs.append(m.JobSummary(
                key=full, instances=len({r.instance for r in rows}),
                is_service=config.task.is_service, task_counts=counts,
                created_at=job.created_at))
        return m.JobList(jobs=jobs)

    def diff(self, config: JobConfig) -> m.JobDiff:
        self._admission.check_cluster(config)
        job_key = config.job_key
        rows = self._ledger.active(job_key)
        stored = self._store.jobs.job(job_key)
        if stored is None and not rows:
            raise JobNotFound(f"job {config.key} not found")
        current = {r.instance: self._ledger.config(r.config_id) for r in rows}
        base = self._ledger.config(stored.config_id if stored is not None
                                   else rows[0].config_id)
        return job_diff(config, current, base)
