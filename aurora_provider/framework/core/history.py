"""Terminal task history: kept for a while, bounded per job (Aurora's task pruning)."""

from __future__ import annotations

from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import TERMINAL


def prune_history(store: Store, settings: SchedulerSettings, now: float) -> int:
    """Drop terminal tasks older than the maximum age, or beyond the count per job (none
    younger than the minimum age); the number dropped."""
    by_job: dict[str, list[TaskRow]] = {}
    for row in store.tasks.tasks(statuses=TERMINAL):
        by_job.setdefault(row.job_key, []).append(row)
    doomed: list[str] = []
    for rows in by_job.values():
        rows.sort(key=lambda r: r.status_at, reverse=True)
        for index, row in enumerate(rows):
            age = now - row.status_at
            if age < settings.history_min_age_secs:
                continue
            if age > settings.history_max_age_secs or index >= settings.history_max_per_job:
                doomed.append(row.task_id)
    if doomed:
        with store.transaction() as tx:
            store.tasks.delete(tx, doomed)
    return len(doomed)
