"""Rolling restarts: ``batch_size`` instances at a time, the next batch once all replacements
of the current one are RUNNING.

Each restart is a ``RestartRow`` (persisted), so it survives a scheduler restart. It advances
inside the scheduling round (a round step), on the round's changes, so a replacement seen
RUNNING lets the next batch start in the same round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from aurora_provider.api.errors import Conflict, InvalidRequest, JobNotFound, NotFound
from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.storage.rows import RestartRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.restart import MACHINE, RestartState
from aurora_provider.states.task import TaskState, can_transition

S = TaskState


def advance(ch: Changes, restart: RestartRow, ledger: TaskLedger) -> RestartRow:
    """One step of a restart: finish the batch in flight, then start the next."""
    by_instance = {r.instance: r for r in ch.job_tasks(restart.job_key)}
    in_flight = dict(restart.in_flight)
    done = list(restart.done)
    for instance, old_id in restart.in_flight.items():
        current = by_instance.get(instance)
        if current is None or (current.task_id != old_id and current.status is S.RUNNING):
            del in_flight[instance]
            done.append(instance)
    pending = list(restart.pending)
    if not in_flight and pending:
        batch, pending = pending[:restart.batch_size], pending[restart.batch_size:]
        for instance in batch:
            current = by_instance.get(instance)
            if current is not None and can_transition(current.status, S.RESTARTING):
                ledger.move(ch, current, S.RESTARTING, "Restarting by user request")
                ch.kills.append(current.task_id)
                in_flight[instance] = current.task_id
            else:
                done.append(instance)  # nothing running to restart
    state = restart.state
    if not pending and not in_flight:
        state = MACHINE.transition(f"{restart.restart_id}", state, RestartState.DONE)
    if (pending, in_flight, done, state) == (list(restart.pending), dict(restart.in_flight),
                                            list(restart.done), restart.state):
        return restart
    return replace(restart, state=state, pending=tuple(pending), in_flight=in_flight,
                   done=tuple(done), updated_at=ch.now)


class RollingRestarts:
    """The active restart of each job; a round step and a job guard (for updates)."""

    def __init__(self, ledger: TaskLedger, store: Store, cluster: str) -> None:
        self._ledger = ledger
        self._store = store
        self._cluster = cluster
        self._active: dict[str, RestartRow] = {}

    def recover(self) -> None:
        with self._ledger.lock:
            self._active = {r.job_key: r for r in self._store.restarts.restarts(
                active_only=True)}

    def active(self, job_key: str) -> RestartRow | None:
        return self._active.get(job_key)

    def holding(self, job_key: str) -> str | None:
        if job_key in self._active:
            return (f"job {self._cluster}/{job_key} is being restarted; wait for the restart "
                    "first")
        return None

    def start(self, job_key: str, instances: Sequence[int] | None,
              batch_size: int) -> RestartRow:
        """Restart ``instances`` (None: all) of a job with active tasks (call with the
        ledger's lock held, after the job's guards)."""
        full = f"{self._cluster}/{job_key}"
        if job_key in self._active:
            raise Conflict(f"job {full} is already being restarted")
        rows = self._ledger.active(job_key)
        if not rows:
            raise JobNotFound(f"job {full} has no active tasks")
        present = sorted({r.instance for r in rows})
        if instances is not None:
            missing = sorted(set(instances) - set(present))
            if missing:
                raise InvalidRequest(f"job {full} has no active instances {missing}")
            present = sorted(set(instances))
        with self._store.transaction() as tx:
            row = self._store.restarts.add(tx, job_key, batch_size, present,
                                           self._ledger.now())
        self._active[job_key] = row
        return row

    def status(self, job_key: str) -> RestartRow:
        found = self._store.restarts.restarts(job_key=job_key)
        if not found:
            raise NotFound(f"job {self._cluster}/{job_key} has never been restarted")
        return found[-1]

    def during_round(self, ch: Changes) -> None:
        for restart in list(self._active.values()):
            self._save(ch, advance(ch, restart, self._ledger))

    def drop(self, ch: Changes, job_key: str, instances: set[int] | None) -> None:
        """Killed instances leave the job's restart; a killed job aborts it."""
        restart = self._active.get(job_key)
        if restart is None:
            return
        if instances is None:
            ended = replace(restart, state=MACHINE.transition(
                f"{restart.restart_id}", restart.state, RestartState.ABORTED),
                updated_at=ch.now, message="aborted: the job was killed")
        else:
            ended = replace(
                restart, pending=tuple(i for i in restart.pending if i not in instances),
                in_flight={i: t for i, t in restart.in_flight.items() if i not in instances},
                updated_at=ch.now)
        self._save(ch, ended)

    def _save(self, ch: Changes, row: RestartRow) -> None:
        if row is self._active.get(row.job_key):
            return  # ``advance`` changed nothing

        def committed() -> None:
            if row.state is RestartState.ACTIVE:
                self._active[row.job_key] = row
            else:
                self._active.pop(row.job_key, None)

        ch.also(lambda tx: self._store.restarts.save(tx, row), committed)
