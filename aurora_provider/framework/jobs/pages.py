"""A job's status at any size: its tasks counted by state, and its tasks a page at a time.

Pages are keyset pages: active tasks first by (instance, task id), then terminal tasks newest
first by (status time, task id), and the cursor is the key of the last task sent, so a page
costs the same wherever it starts and no offset drifts as tasks are added. A task that ends
between two pages moves from the active part to the terminal part: it may be seen twice, or
(if it ends after the terminal pages were read) not at all, as in any live listing.
"""

from __future__ import annotations

import re
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.api.errors import InvalidRequest, JobNotFound
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.jobs.status import task_document
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import TERMINAL

# Where a page starts: after an active task ("a", instance, task id) or after a terminal one
# ("t", status time, task id). On the wire ``a<instance>:<task id>`` or
# ``t<status time>:<task id>``: opaque to callers, but any text of this form names a place
# in the order, so every cursor that matches the pattern is a valid one.
Cursor = tuple[str, float, str]
CURSOR_PATTERN = (r"^(?:a\d{1,12}|t\d{1,20}(?:\.\d{1,20})?(?:e[+-]?\d{1,3})?)"
                  r":[\w.\-]{1,400}$")
_CURSOR = re.compile(CURSOR_PATTERN, re.ASCII)


def encode_cursor(row: TaskRow) -> str:
    if row.status in TERMINAL:
        return f"t{row.status_at!r}:{row.task_id}"
    return f"a{row.instance}:{row.task_id}"


def decode_cursor(cursor: str) -> Cursor:
    """The key a cursor names; text not of a cursor's form is a 400."""
    if not _CURSOR.match(cursor):
        raise InvalidRequest(f"cursor {cursor[:80]!r} is not one this scheduler gave out: "
                             "pass the next_cursor of the previous page")
    key, task_id = cursor.split(":", 1)
    return key[0], float(key[1:]), task_id


class JobPages:
    """Summaries and task pages of jobs, read from the ledger (active) and the store."""

    def __init__(self, ledger: TaskLedger, store: Store, cluster: str) -> None:
        self._ledger = ledger
        self._store = store
        self._cluster = cluster

    def summary(self, job_key: str) -> m.JobStatusSummary:
        by_state, instances = self._ledger.job_counts(job_key)
        active = {s.value: n for s, n in by_state.items()}
        terminal = {s.value: n for s, n in
                    self._store.tasks.count_job_by_status(job_key, TERMINAL).items()}
        job = self._store.jobs.job(job_key)
        if job is None and not active and not terminal:
            raise JobNotFound(f"job {self._cluster}/{job_key} not found")
        config = None
        if job is not None:
            c = self._ledger.config(job.config_id)
            r = c.task.resources
            config = m.JobConfigSummary(
                instances=c.instances, is_service=c.task.is_service,
                production=c.task.production, tier=c.task.tier, cpu=r.cpu, ram_mb=r.ram_mb,
                disk_mb=r.disk_mb, cron_schedule=c.cron_schedule)
        return m.JobStatusSummary(
            key=f"{self._cluster}/{job_key}", exists=job is not None,
            instances=instances, active=active,
            terminal=terminal, config=config)

    def page(self, job_key: str, limit: int, cursor: str | None,
             events: bool) -> dict[str, Any]:
        """``TaskPage``'s shape as plain JSON types (a page of 1,000 tasks with events is
        cheaper to serialise without building models)."""
        start = decode_cursor(cursor) if cursor else None
        want = limit + 1  # one more than asked: whether there is a next page
        rows: list[TaskRow] = []
        if start is None or start[0] == "a":
            after = (int(start[1]), start[2]) if start else None
            rows = self._ledger.active_page(job_key, after, want)
        if len(rows) < want:
            before = (start[1], start[2]) if start and start[0] == "t" else None
            rows += self._store.tasks.terminal_page(job_key, want - len(rows), before)
        if not rows and start is None and self._store.jobs.job(job_key) is None:
            raise JobNotFound(f"job {self._cluster}/{job_key} not found")
        more, rows = len(rows) > limit, rows[:limit]
        history = (self._store.tasks.events(task_ids=[r.task_id for r in rows])
                   if events and rows else {})
        reasons = self._ledger.pending_reasons()
        return {"key": f"{self._cluster}/{job_key}",
                "tasks": [task_document(r, history.get(r.task_id, ()), reasons.get(r.task_id))
                          for r in rows],
                "next_cursor": encode_cursor(rows[-1]) if more else None}
