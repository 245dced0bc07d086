"""Rolling restarts: ``batch_size`` instances at a time, the next batch once all replacements
of the current one are RUNNING. The state lives in ``RestartRow`` (persisted), so a restart
survives a scheduler restart; job updates (issue 5) follow the same pattern.
"""

from __future__ import annotations

from typing import Protocol

from aurora_provider.framework.changes import Changes
from aurora_provider.framework.state import TaskState, can_transition
from aurora_provider.framework.storage.store import RestartRow, TaskRow

S = TaskState


class Mover(Protocol):
    """``Scheduler.move``: a checked state change with its consequences (rescheduling)."""

    def __call__(self, ch: Changes, row: TaskRow, target: TaskState,
                 message: str | None = None, **fields: object) -> TaskRow: ...


def advance_restart(ch: Changes, restart: RestartRow, move: Mover) -> RestartRow:
    """One step of a rolling restart: finish the batch in flight, then start the next."""
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
                move(ch, current, S.RESTARTING, "Restarting by user request")
                ch.kills.append(current.task_id)
                in_flight[instance] = current.task_id
            else:
                done.append(instance)  # nothing running to restart
    state = restart.state
    if not pending and not in_flight:
        state = "DONE"
    if (pending, in_flight, done, state) == (restart.pending, restart.in_flight, restart.done,
                                            restart.state):
        return restart
    return RestartRow(
        restart_id=restart.restart_id, job_key=restart.job_key, state=state,
        batch_size=restart.batch_size, pending=pending, in_flight=in_flight, done=done,
        started_at=restart.started_at, updated_at=ch.now, message=restart.message)
