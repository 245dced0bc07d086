"""Admin housekeeping on request: pruning terminal tasks, reconciling with the backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.errors import InvalidRequest
from aurora_provider.framework.state import LAUNCHED, TERMINAL, TaskState, can_transition

S = TaskState


def prune_tasks(core: Scheduler, *, states: Sequence[str] | None = None,
                role: str | None = None, environment: str | None = None,
                name: str | None = None, limit: int | None = None) -> list[str]:
    """Delete terminal tasks (and their events) matching the filters; returns their ids.

    Like Aurora's ``prune_tasks``, only terminal states may be pruned.
    """
    wanted = set(TERMINAL)
    if states:
        try:
            wanted = {TaskState(s.upper()) for s in states}
        except ValueError as e:
            raise InvalidRequest(f"states: {e}") from e
        active = sorted(s.value for s in wanted - TERMINAL)
        if active:
            raise InvalidRequest(f"only terminal tasks can be pruned, not {', '.join(active)}")
    if limit is not None and limit < 1:
        raise InvalidRequest("limit must be at least 1")
    with core.lock:
        doomed = []
        for row in core.store.tasks(statuses=wanted):
            parts = row.job_key.split("/")
            if (role and parts[0] != role) or (environment and parts[1] != environment) or \
                    (name and parts[2] != name):
                continue
            doomed.append(row)
        doomed.sort(key=lambda row: row.status_at)
        ids = [row.task_id for row in doomed[:limit]]
        if ids:
            with core.store.transaction() as tx:
                tx.delete_tasks(ids)
    return ids


@dataclass(frozen=True)
class ReconcileResult:
    checked: int
    changed: list[str]  # "task_id: OLD -> NEW"


def reconcile_tasks(core: Scheduler) -> ReconcileResult:
    """Ask the backend about every launched task and apply what it says (explicit
    reconciliation; tasks being killed are left to their kill)."""
    with core.lock:
        rows = [r for r in core.cache.by_id.values()
                if r.status in LAUNCHED and r.status is not S.KILLING]
        updates = core.backend.reconcile([core.launch_of(r) for r in rows])
        ch = core.changes()
        changed = []
        for update in updates:
            row = ch.get(update.task_id)
            if row is None:
                if update.state not in TERMINAL:
                    ch.kills.append(update.task_id)  # unknown and running: stop it
                continue
            if row.status is update.state or not can_transition(row.status, update.state):
                continue
            core.move(ch, row, update.state, update.message)
            changed.append(f"{row.task_id}: {row.status.value} -> {update.state.value}")
        if ch.rows or ch.kills:
            core.commit(ch)
    return ReconcileResult(len(rows), changed)
