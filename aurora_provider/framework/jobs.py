"""Job operations behind the API: create, kill, restart, add instances, status, list, diff."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.framework.changes import Changes
from aurora_provider.framework.core import Scheduler, new_task_id
from aurora_provider.framework.cron import is_cron_job
from aurora_provider.framework.errors import Conflict, InvalidRequest, NotFound
from aurora_provider.framework.quota import check_quota
from aurora_provider.framework.state import TERMINAL, TaskState
from aurora_provider.framework.storage import JobRow, TaskRow
from aurora_provider.framework.storage.store import EventRow, RestartRow, config_digest

S = TaskState


def canonical(job: m.JobConfiguration) -> str:
    """The stored form of a configuration: equal jobs give equal text (and digest)."""
    return json.dumps(job.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}[{i}]", out)
    else:
        out[prefix] = value


def _flat_config(wire: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration as ``path: value``, with the executor's job JSON opened up."""
    data = dict(wire)
    task = dict(data.get("task", {}))
    executor = dict(task.get("executor_config", {}))
    raw = executor.pop("data", None)
    task["executor_config"] = executor
    data["task"] = task
    out: dict[str, Any] = {}
    _flatten(data, "", out)
    if isinstance(raw, str):
        try:
            _flatten(json.loads(raw), "job", out)
        except ValueError:
            out["job"] = raw
    return out


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    a, b = _flat_config(old), _flat_config(new)
    lines = []
    for path in sorted(set(a) | set(b)):
        # Instance counts are reported as added/removed instances, not as a field change.
        if path in ("instances", "job.instances") or a.get(path) == b.get(path):
            continue
        lines.append(f"{path}: {json.dumps(a.get(path))} -> {json.dumps(b.get(path))}")
    return lines


def task_model(row: TaskRow, events: Sequence[EventRow] = (),
               pending_reason: str | None = None) -> m.TaskModel:
    return m.TaskModel(
        task_id=row.task_id, job_key=row.job_key, instance=row.instance,
        status=row.status.value, host=row.host, agent_id=row.agent_id, ports=row.ports,
        failure_count=row.failure_count, ancestor_id=row.ancestor_id,
        created_at=row.created_at, status_at=row.status_at,
        throttle_until=row.throttle_until, message=row.message,
        pending_reason=pending_reason,
        events=[m.TaskEventModel(timestamp=e.timestamp, status=e.status.value,
                                 message=e.message) for e in events])


def task_document(row: TaskRow, events: Sequence[EventRow] = (),
                  pending_reason: str | None = None) -> dict[str, Any]:
    """``task_model`` as plain JSON types, for large answers."""
    return {
        "task_id": row.task_id, "job_key": row.job_key, "instance": row.instance,
        "status": row.status._value_, "host": row.host, "agent_id": row.agent_id,
        "ports": row.ports, "failure_count": row.failure_count,
        "ancestor_id": row.ancestor_id, "created_at": row.created_at,
        "status_at": row.status_at, "throttle_until": row.throttle_until,
        "message": row.message, "pending_reason": pending_reason,
        "events": [{"timestamp": e.timestamp, "status": e.status._value_,
                    "message": e.message} for e in events]}


def restart_model(cluster: str, row: RestartRow) -> m.RestartModel:
    return m.RestartModel(
        restart_id=row.restart_id, key=f"{cluster}/{row.job_key}",
        state=row.state,  # type: ignore[arg-type]
        batch_size=row.batch_size, pending=row.pending, in_flight=sorted(row.in_flight),
        done=row.done, started_at=row.started_at, updated_at=row.updated_at,
        message=row.message)


class JobService:
    """What the REST API does; every write goes through the core's lock and commit."""

    def __init__(self, core: Scheduler) -> None:
        self.core = core
        self.cluster = core.settings.cluster
        self._environments = re.compile(core.settings.allowed_environments)

    def _full(self, job_key: str) -> str:
        return f"{self.cluster}/{job_key}"

    def _check_cluster(self, key: m.JobKeyModel) -> None:
        if key.cluster != self.cluster:
            raise InvalidRequest(
                f"job {key} is for cluster {key.cluster!r}, this scheduler runs {self.cluster!r}")

    def create(self, job: m.JobConfiguration) -> m.CreateJobResponse:
        self._check_cluster(job.key)
        if job.cron_schedule:
            raise InvalidRequest(
                f"job {job.key} has a cron_schedule: cron jobs are scheduled with "
                "'aurora cron schedule', not created")
        if not self._environments.match(job.key.environment):
            raise InvalidRequest(
                f"job {job.key}: environment {job.key.environment!r} must match "
                f"{self._environments.pattern}")
        if job.instances > self.core.settings.max_instances:
            raise InvalidRequest(
                f"job {job.key}: {job.instances} instances exceed the limit of "
                f"{self.core.settings.max_instances}")
        if len(set(job.task.requested_ports)) != len(job.task.requested_ports):
            raise InvalidRequest(f"job {job.key}: task.requested_ports has duplicates")
        job_key = job.key.path()
        config_json = canonical(job)
        with self.core.lock:
            if self.core.store.job(job_key) is not None:
                raise Conflict(f"job {job.key} already exists; kill it or use an update")
            if is_cron_job(self.core.store, job_key):
                raise Conflict(f"job {job.key} is a cron job; deschedule it first")
            stopping = self.core.cache.job_tasks(job_key)
            if stopping:
                raise Conflict(f"job {job.key} still has {len(stopping)} task(s) stopping; "
                               "create it again once they are gone")
            check_quota(self.core, job.model_dump(mode="json"), job.instances)
            now = self.core.clock()
            # The configuration first (idempotent by digest), so tasks can name it.
            with self.core.store.transaction() as tx:
                config_id = tx.add_config(job_key, config_json, now)
            ch = self.core.changes()
            task_ids = self._new_instances(ch, job_key, config_id, range(job.instances))
            self.core.commit(ch, lambda tx: tx.save_job(
                JobRow(job_key, job.key.cluster, config_id, ch.now, ch.now)))
        return m.CreateJobResponse(key=str(job.key), task_ids=task_ids)

    def _new_instances(self, ch: Changes, job_key: str, config_id: int,
                       instances: Sequence[int] | range) -> list[str]:
        ids = []
        for instance in instances:
            row = ch.create(TaskRow(
                task_id=new_task_id(job_key, instance), job_key=job_key, instance=instance,
                config_id=config_id, status=S.INIT, created_at=ch.now, status_at=ch.now))
            ch.move(row, S.PENDING)
            ids.append(row.task_id)
        return ids

    def kill(self, job_key: str, instances: Sequence[int] | None, user: str,
             message: str | None) -> m.KillResponse:
        text = message or f"Killed by {user}"
        with self.core.lock:
            self.core.assert_changeable(job_key)
            ch = self.core.changes()
            rows = list(ch.job_tasks(job_key))
            if not rows and self.core.store.job(job_key) is None:
                raise NotFound(f"job {self._full(job_key)} has no active tasks")
            wanted = None if instances is None else set(instances)
            ch.touched_jobs.add(job_key)  # deleted below when nothing stays active
            killed = []
            for row in rows:
                if wanted is not None and row.instance not in wanted:
                    continue
                self.core.kill(ch, row, text)
                killed.append(row.task_id)
            restart = self.core.restarts.get(job_key)
            if restart is not None:
                ch.restarts.append(_drop_from_restart(restart, wanted, ch.now))
            self.core.commit(ch)
        return m.KillResponse(key=self._full(job_key), killed=sorted(killed))

    def restart(self, job_key: str, instances: Sequence[int] | None,
                batch_size: int) -> m.RestartModel:
        with self.core.lock:
            self.core.assert_changeable(job_key)
            if job_key in self.core.restarts:
                raise Conflict(f"job {self._full(job_key)} is already being restarted")
            rows = [r for r in self.core.cache.job_tasks(job_key)]
            if not rows:
                raise NotFound(f"job {self._full(job_key)} has no active tasks")
            present = sorted({r.instance for r in rows})
            if instances is not None:
                missing = sorted(set(instances) - set(present))
                if missing:
                    raise InvalidRequest(
                        f"job {self._full(job_key)} has no active instances {missing}")
                present = sorted(set(instances))
            now = self.core.clock()
            with self.core.store.transaction() as tx:
                restart_id = tx.add_restart(job_key, batch_size, present, now)
            row = RestartRow(restart_id, job_key, "ACTIVE", batch_size, present, {}, [], now, now)
            self.core.restarts[job_key] = row
        return restart_model(self.cluster, row)

    def restart_status(self, job_key: str) -> m.RestartModel:
        found = self.core.store.restarts(job_key=job_key)
        if not found:
            raise NotFound(f"job {self._full(job_key)} has never been restarted")
        return restart_model(self.cluster, found[-1])

    def add_instances(self, job_key: str, template: int, count: int) -> m.AddInstancesResponse:
        with self.core.lock:
            self.core.assert_changeable(job_key)
            rows = self.core.cache.job_tasks(job_key)
            source = next((r for r in rows if r.instance == template), None)
            if source is None:
                raise NotFound(f"job {self._full(job_key)} has no active instance {template}")
            total = len({r.instance for r in rows}) + count
            if total > self.core.settings.max_instances:
                raise InvalidRequest(f"job {self._full(job_key)} would exceed "
                                     f"{self.core.settings.max_instances} instances")
            check_quota(self.core, self.core.store.config(source.config_id), count)
            first = max(r.instance for r in rows) + 1
            ch = self.core.changes()
            new = list(range(first, first + count))
            ids = self._new_instances(ch, job_key, source.config_id, new)
            self.core.commit(ch)
        return m.AddInstancesResponse(key=self._full(job_key), instances=new, task_ids=ids)

    def status(self, job_key: str) -> m.JobStatus:
        return m.JobStatus.model_validate(self.status_document(job_key))

    def status_document(self, job_key: str) -> dict[str, Any]:
        """The job's status as plain JSON types (``m.JobStatus``'s shape).

        Built without pydantic objects: a 10,000-task job has 50,000 events, and building
        models for them costs several times what reading them does.
        """
        store = self.core.store
        rows = store.tasks(job_key=job_key)
        job = store.job(job_key)
        if not rows and job is None:
            raise NotFound(f"job {self._full(job_key)} not found")
        events = store.events(job_key=job_key)
        reasons = self.core.pending_reasons
        active: list[dict[str, Any]] = []
        terminal: list[dict[str, Any]] = []
        for row in rows:
            doc = task_document(row, events.get(row.task_id, ()), reasons.get(row.task_id))
            (terminal if row.status in TERMINAL else active).append(doc)
        return {"key": self._full(job_key), "exists": job is not None, "active": active,
                "terminal": terminal}

    def task(self, task_id: str) -> m.TaskModel:
        row = self.core.store.task(task_id)
        if row is None:
            raise NotFound(f"task {task_id} not found")
        events = self.core.store.events(task_ids=[task_id]).get(task_id, [])
        return task_model(row, events, self.core.pending_reasons.get(task_id))

    def list(self, pattern: str | None) -> m.JobList:
        jobs = []
        for job in self.core.store.jobs():
            full = f"{job.cluster}/{job.job_key}"
            if pattern and not (fnmatch.fnmatchcase(full, pattern)
                                or fnmatch.fnmatchcase(job.job_key, pattern)):
                continue
            with self.core.lock:  # the scheduling loop changes the cache
                rows = self.core.cache.job_tasks(job.job_key)
            counts: dict[str, int] = {}
            for row in rows:
                counts[row.status.value] = counts.get(row.status.value, 0) + 1
            config = self.core.store.config(job.config_id)
            jobs.append(m.JobSummary(
                key=full, instances=len({r.instance for r in rows}),
                is_service=bool(config["task"].get("is_service")), task_counts=counts,
                created_at=job.created_at))
        return m.JobList(jobs=jobs)

    def diff(self, job: m.JobConfiguration) -> m.JobDiff:
        self._check_cluster(job.key)
        job_key = job.key.path()
        with self.core.lock:
            rows = self.core.cache.job_tasks(job_key)
        stored = self.core.store.job(job_key)
        if stored is None and not rows:
            raise NotFound(f"job {job.key} not found")
        new_digest = config_digest(canonical(job))
        current = {r.instance: r for r in rows}
        wanted = set(range(job.instances))
        update: list[int] = []
        unchanged: list[int] = []
        for instance in sorted(wanted & set(current)):
            row = current[instance]
            old_digest = config_digest(json.dumps(self.core.store.config(row.config_id),
                                                  sort_keys=True, separators=(",", ":")))
            (unchanged if old_digest == new_digest else update).append(instance)
        base_id = stored.config_id if stored is not None else rows[0].config_id
        return m.JobDiff(
            key=str(job.key), add=sorted(wanted - set(current)),
            remove=sorted(set(current) - wanted), update=update, unchanged=unchanged,
            changes=config_changes(self.core.store.config(base_id),
                                   job.model_dump(mode="json")))


def _drop_from_restart(restart: RestartRow, wanted: set[int] | None, now: float) -> RestartRow:
    if wanted is None:
        return RestartRow(restart.restart_id, restart.job_key, "ABORTED", restart.batch_size,
                          restart.pending, restart.in_flight, restart.done, restart.started_at,
                          now, "aborted: the job was killed")
    return RestartRow(restart.restart_id, restart.job_key, restart.state, restart.batch_size,
                      [i for i in restart.pending if i not in wanted],
                      {i: t for i, t in restart.in_flight.items() if i not in wanted},
                      restart.done, restart.started_at, now, restart.message)

