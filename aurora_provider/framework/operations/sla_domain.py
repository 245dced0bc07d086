"""Which hosts can be taken down without breaking a job's SLA: Aurora's safe-domain
vector (``sla_list_safe_domain``, ``sla_probe_hosts``), computed where the tasks are.

Only production jobs with at least ``min_instance_count`` live tasks count (Aurora's
``--min_job_instance_count``). A live task's uptime is the time since its first RUNNING
event. For each host, each job with tasks on it is judged as if the host went down: its
predicted SLA is the share of the job's live tasks, not on the host, up for at least the
duration; the job is safe when that reaches the percentage (its own limit, if one is given),
and otherwise the report says how long until it would be (None: not before replacements
come up). A host is safe when every job on it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.jobs.sla import PercentagePolicy
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import TaskState

S = TaskState
# Where a task's processes run (Aurora's LIVE_STATES).
LIVE = frozenset({S.RUNNING, S.KILLING, S.PREEMPTING, S.RESTARTING, S.DRAINING})


# What a probe asks of a job: its percentage of instances up for the duration.
JobLimit = PercentagePolicy


@dataclass(frozen=True)
class JobOnHost:
    job_key: str
    predicted_percentage: float
    safe: bool
    safe_in_secs: int | None  # 0 when safe; None when waiting would not be enough
    limit: JobLimit


@dataclass(frozen=True)
class HostSla:
    host: str
    safe: bool
    jobs: list[JobOnHost]


def up_count(uptimes: Sequence[float], duration: float, total: int) -> float:
    """The percentage of ``total`` tasks up for at least ``duration``."""
    return 100.0 * sum(1 for u in uptimes if u >= duration) / total if total else 0.0


def wait_to_sla(uptimes: Sequence[float], limit: JobLimit, total: int) -> int | None:
    """Seconds until enough of ``uptimes`` reach the limit's duration (None: never)."""
    if up_count(uptimes, limit.duration_secs, total) >= limit.percentage:
        return 0
    index = len(uptimes) - math.ceil(total * limit.percentage / 100)
    if not 0 <= index < len(uptimes):
        return None
    return math.ceil(limit.duration_secs - sorted(uptimes)[index])


class SlaDomain:
    """Reads the live tasks and their events to judge hosts."""

    def __init__(self, ledger: TaskLedger, store: Store) -> None:
        self._ledger = ledger
        self._store = store

    def hosts(self, default: JobLimit, min_instance_count: int,
              hosts: Sequence[str] | None = None,
              limits: Mapping[str, JobLimit] | None = None) -> list[HostSla]:
        """Every host with a task of a counted job (only ``hosts``, when given), by name;
        ``limits``: per job key (``role/env/name``), instead of ``default``."""
        limits = limits or {}
        with self._ledger.lock:
            rows = [r for r in self._ledger.all_active() if r.status in LIVE]
            now = self._ledger.now()
        by_job: dict[str, list[TaskRow]] = {}
        for row in rows:
            if self._ledger.config(row.config_id).task.production:
                by_job.setdefault(row.job_key, []).append(row)
        by_job = {k: v for k, v in by_job.items() if len(v) >= min_instance_count}
        wanted = set(hosts) if hosts else None
        jobs_of_host: dict[str, set[str]] = {}
        for job_key, tasks in by_job.items():
            for t in tasks:
                if t.host and (wanted is None or t.host in wanted):
                    jobs_of_host.setdefault(t.host, set()).add(job_key)
        counted = {k for keys in jobs_of_host.values() for k in keys}
        uptime = self._uptimes([t for k in counted for t in by_job[k]], now)
        found = []
        for host in sorted(jobs_of_host):
            judged = []
            for job_key in sorted(jobs_of_host[host]):
                tasks = by_job[job_key]
                limit = limits.get(job_key, default)
                left = [uptime[t.task_id] for t in tasks
                        if t.host != host and t.task_id in uptime]
                predicted = up_count(left, limit.duration_secs, len(tasks))
                safe = predicted >= limit.percentage
                judged.append(JobOnHost(job_key, predicted, safe,
                                        0 if safe else wait_to_sla(left, limit, len(tasks)),
                                        limit))
            found.append(HostSla(host, all(j.safe for j in judged), judged))
        return found

    def _uptimes(self, tasks: Sequence[TaskRow], now: float) -> dict[str, float]:
        """Seconds since each task's first RUNNING event (tasks never RUNNING: absent)."""
        found: dict[str, float] = {}
        events = self._store.tasks.events(task_ids=[t.task_id for t in tasks]) if tasks else {}
        for task_id, history in events.items():
            started = next((e.timestamp for e in history if e.status is S.RUNNING), None)
            if started is not None:
                found[task_id] = max(0.0, math.floor(now - started))
        return found
