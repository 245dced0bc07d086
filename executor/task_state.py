"""The state machine of a task (its stage).

::

    ACTIVE --> CLEANING --> FINALIZING --> SUCCESS / FAILED / KILLED / LOST
                   |
                   `--> SUCCESS / FAILED / KILLED / LOST   (finalization_wait ran out)

ACTIVE runs the regular processes. When they are done (or the task failed, or a kill was
asked for), CLEANING sends SIGTERM to what still runs and waits for it; FINALIZING runs the
processes marked ``final``. Once CLEANING starts, the task has ``finalization_wait`` seconds
to reach a terminal state, after which everything left is SIGKILLed.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import StateTransitionError


class TaskState(StrEnum):
    ACTIVE = "ACTIVE"
    CLEANING = "CLEANING"
    FINALIZING = "FINALIZING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    KILLED = "KILLED"
    LOST = "LOST"


TERMINAL: frozenset[TaskState] = frozenset(
    {TaskState.SUCCESS, TaskState.FAILED, TaskState.KILLED, TaskState.LOST}
)

ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    TaskState.ACTIVE: frozenset({TaskState.CLEANING}),
    TaskState.CLEANING: frozenset({TaskState.FINALIZING} | TERMINAL),
    TaskState.FINALIZING: TERMINAL,
    TaskState.SUCCESS: frozenset(),
    TaskState.FAILED: frozenset(),
    TaskState.KILLED: frozenset(),
    TaskState.LOST: frozenset(),
}


def check_transition(old: TaskState, new: TaskState) -> None:
    """Raise unless ``old -> new`` is in the table."""
    if new not in ALLOWED[old]:
        raise StateTransitionError(f"task: {old.value} -> {new.value} is not allowed")
