"""The active updates, shared by the engine (rounds) and the controller (user actions).

An update's changes commit with the task changes they cause, in the ledger's transaction
(the engine's, in the scheduling round's); only then does the new record replace the active
one. At the end of an update the job's configuration becomes the new one if it rolled
forward.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.model.updates import (
    InstanceEvent,
    InstanceProgress,
    UpdateEvent,
    UpdateRecord,
)
from aurora_provider.framework.storage.database import Transaction
from aurora_provider.framework.storage.rows import JobRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.framework.storage.updates import UpdateWrite
from aurora_provider.states.update import MACHINE, TERMINAL, UpdateStatus

log = logging.getLogger("aurora_provider.framework.updates")
U = UpdateStatus


class UpdateChange:
    """One step of one update: its record as it becomes, and what to persist.

    The step works on its own copy of the progress (``set_progress``): the record it
    started from is never changed, and the new one replaces it only once committed.
    """

    def __init__(self, record: UpdateRecord, *, new: bool = False) -> None:
        self.original = record
        self._progress: dict[int, InstanceProgress] = dict(record.progress)
        self.record = replace(record, progress=self._progress)
        self.write = UpdateWrite()
        self._new = new

    def set_progress(self, instance: int, progress: InstanceProgress) -> None:
        self._progress[instance] = progress

    def replace_progress(self, progress: dict[int, InstanceProgress]) -> None:
        """A new direction (a rollback): a whole new progress."""
        self._progress = dict(progress)
        self.record = replace(self.record, progress=self._progress)

    @property
    def changed(self) -> bool:
        return self._new or self.record != self.original

    def set_status(self, target: UpdateStatus, now: float, user: str | None,
                   message: str | None) -> None:
        """The update's status moves, checked against the table, with its event."""
        status = MACHINE.transition(self.record.update_id, self.record.status, target)
        self.record = replace(self.record, status=status, updated_at=now)
        self.write.events.append((self.record.update_id,
                                  UpdateEvent(now, status, user, message)))

    def instance_event(self, event: InstanceEvent) -> None:
        self.write.instance_events.append((self.record.update_id, event))

    def finish(self) -> UpdateWrite:
        """The write of this step, the record included when it changed."""
        if self._new:
            self.write.new_records.append(self.record)
        elif self.record != self.original:
            self.write.records.append(self.record)
        return self.write


class Savepoint:
    """What a ``Changes`` held before one update's step: ``undo()`` takes the step back out
    (its moves, new tasks, events, kills and launches), leaving the round's other changes."""

    def __init__(self, ch: Changes) -> None:
        self._ch = ch
        self._rows = dict(ch.rows)
        self._created = set(ch.created)
        self._touched = set(ch.touched_jobs)
        self._sizes = self._lengths()

    def _lengths(self) -> tuple[int, ...]:
        ch = self._ch
        return (len(ch.rows), len(ch.events), len(ch.launches), len(ch.kills),
                len(ch.persist), len(ch.committed))

    def changed(self) -> bool:
        """Whether the step changed anything (each move and each new task adds an event)."""
        return self._lengths() != self._sizes

    def undo(self) -> None:
        ch = self._ch
        _, events, launches, kills, persist, committed = self._sizes
        ch.rows.clear()
        ch.rows.update(self._rows)
        ch.created.intersection_update(self._created)
        ch.touched_jobs.intersection_update(self._touched)
        del ch.events[events:], ch.launches[launches:], ch.kills[kills:]
        del ch.persist[persist:], ch.committed[committed:]


class ActiveUpdates:
    """The active update of each job; a job guard (kill, restart and add wait for it)."""

    def __init__(self, ledger: TaskLedger, store: Store, cluster: str) -> None:
        self.ledger = ledger
        self.store = store
        self.cluster = cluster
        self._active: dict[str, UpdateRecord] = {}

    def recover(self) -> None:
        """Load the active updates from the store (after a scheduler restart)."""
        found = self.store.updates.records(statuses=set(U) - TERMINAL)
        with self.ledger.lock:
            self._active = {r.job_key: r for r in found}
        if found:
            log.info("recovered %d active job update(s)", len(found))

    def get(self, job_key: str) -> UpdateRecord | None:
        return self._active.get(job_key)

    def records(self) -> list[UpdateRecord]:
        return list(self._active.values())

    def holding(self, job_key: str) -> str | None:
        record = self._active.get(job_key)
        if record is None:
            return None
        return (f"job {job_key} has an active update {record.update_id} ({record.status}); "
                "abort it (aurora update abort) or wait for it first")

    def identity(self, config_id: int) -> str:
        """What an instance of this configuration runs (the store parses each one once)."""
        return self.ledger.config(config_id).identity

    def commit(self, ch: Changes, change: UpdateChange) -> UpdateRecord:
        """Persist the step's writes with its task changes, then make it current."""
        record = self.stage(ch, change)
        self.ledger.commit(ch)
        return record

    def stage(self, ch: Changes, change: UpdateChange) -> UpdateRecord:
        """The step's writes join ``ch``: persisted in its transaction, current once it has
        committed (the engine's steps commit with the scheduling round)."""
        record = change.record
        write = change.finish()

        def persist(tx: Transaction) -> None:
            self.store.updates.write(tx, write)
            if record.status in TERMINAL:
                self._save_job(tx, ch, record)

        ch.also(persist, lambda: self._publish(record))
        return record

    def _save_job(self, tx: Transaction, ch: Changes, r: UpdateRecord) -> None:
        """At the end: the job's configuration is the new one only if it rolled forward (a
        scoped one too: it is what the job was last updated to). A job the update created
        and left without a task is gone again."""
        if not any(ch.job_tasks(r.job_key)) and r.status is not U.ROLLED_FORWARD:
            if r.creates_job:
                self.store.jobs.delete(tx, r.job_key)
            return
        existing = self.store.jobs.job(r.job_key)
        if r.status is U.ROLLED_FORWARD:
            config_id = r.desired_config_id
        elif existing is not None:
            config_id = existing.config_id
        else:
            config_id = max(r.initial.values(), default=r.desired_config_id)
        created = existing.created_at if existing is not None else r.created_at
        self.store.jobs.save(tx, JobRow(r.job_key, r.cluster, config_id, created,
                                        r.updated_at))

    def _publish(self, record: UpdateRecord) -> None:
        if record.status in TERMINAL:
            self._active.pop(record.job_key, None)
            log.info("update %s of %s: %s", record.update_id, record.job_key, record.status)
        else:
            self._active[record.job_key] = record
