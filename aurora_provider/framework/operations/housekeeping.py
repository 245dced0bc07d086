"""Admin housekeeping on request: pruning terminal tasks, reconciling with the backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.backends.base import Launch, StatusUpdate
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import LAUNCHED, TERMINAL, TaskState

S = TaskState


class Reconciler(Protocol):
    def reconcile(self, running: Sequence[Launch]) -> list[StatusUpdate]: ...


@dataclass(frozen=True)
class ReconcileResult:
    checked: int
    changed: list[str]  # "task_id: OLD -> NEW"


class Housekeeping:
    def __init__(self, ledger: TaskLedger, store: Store, backend: Reconciler) -> None:
        self._ledger = ledger
        self._store = store
        self._backend = backend

    def prune_tasks(self, *, states: Sequence[str] | None = None, role: str | None = None,
                    environment: str | None = None, name: str | None = None,
                    limit: int | None = None) -> list[str]:
        """Delete terminal tasks (and their events) matching the filters; their ids.

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
                raise InvalidRequest(f"only terminal tasks can be pruned, not "
                                     f"{', '.join(active)}")
        if limit is not None and limit < 1:
            raise InvalidRequest("limit must be at least 1")
        with self._ledger.lock:
            doomed = []
            for row in self._store.tasks.tasks(statuses=wanted):
                r_role, r_env, r_name = row.job_key.split("/")
                if (role and r_role != role) or (environment and r_env != environment) or \
                        (name and r_name != name):
                    continue
                doomed.append(row)
            doomed.sort(key=lambda row: row.status_at)
            ids = [row.task_id for row in doomed[:limit]]
            if ids:
                with self._store.transaction() as tx:
                    self._store.tasks.delete(tx, ids)
        return ids

    def reconcile(self) -> ReconcileResult:
        """Ask the backend about every launched task and apply what it says (explicit
        reconciliation; tasks being killed are left to their kill)."""
        ledger = self._ledger
        with ledger.lock:
            rows = [r for r in ledger.all_active()
                    if r.status in LAUNCHED and r.status is not S.KILLING]
            updates = self._backend.reconcile([ledger.launch_of(r) for r in rows])
            ch = ledger.changes()
            changed = []
            for update in updates:
                before = ledger.apply_status(ch, update)
                if before is not None:
                    changed.append(f"{before.task_id}: {before.status.value} -> "
                                   f"{update.state.value}")
            if ch:
                ledger.commit(ch)
        return ReconcileResult(len(rows), changed)
