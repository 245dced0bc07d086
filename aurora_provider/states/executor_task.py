"""The executor's state machine of a task (Thermos's task state: its stage, then its end).

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

import enum

from aurora_provider.states.machine import StateMachine


class ExecutorTaskState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    CLEANING = "CLEANING"
    FINALIZING = "FINALIZING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    KILLED = "KILLED"
    LOST = "LOST"


T = ExecutorTaskState

_ENDS = frozenset({T.SUCCESS, T.FAILED, T.KILLED, T.LOST})

ALLOWED: dict[ExecutorTaskState, frozenset[ExecutorTaskState]] = {
    T.ACTIVE: frozenset({T.CLEANING}),
    T.CLEANING: _ENDS | {T.FINALIZING},
    T.FINALIZING: _ENDS,
    T.SUCCESS: frozenset(),
    T.FAILED: frozenset(),
    T.KILLED: frozenset(),
    T.LOST: frozenset(),
}

MACHINE = StateMachine("executor task", ALLOWED)
TERMINAL: frozenset[ExecutorTaskState] = MACHINE.TERMINAL
