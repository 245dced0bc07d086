"""The state machine of one run of a process, as the executor supervises it.

::

    WAITING --> FORKED --> RUNNING --> SUCCESS
       |          |           |------> FAILED
       |          |           |------> KILLED
       |          |           `------> LOST
       |          `--> FAILED / KILLED / LOST
       `--> FAILED            (the command could not be launched at all)

Each run of a process (run 0, 1, ...) walks this machine once; a new run starts at
WAITING after the previous one reached a terminal state. LOST means the supervisor lost
sight of the run (the runner died and the process vanished meanwhile); the planner reruns
it without counting a failure, as Thermos does. KILLED is likewise rerun unless the task is
being torn down.
"""

from __future__ import annotations

import enum

from aurora_provider.states.machine import StateMachine


class ProcessState(enum.StrEnum):
    WAITING = "WAITING"
    FORKED = "FORKED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    KILLED = "KILLED"
    LOST = "LOST"


P = ProcessState

_ENDS = frozenset({P.SUCCESS, P.FAILED, P.KILLED, P.LOST})

ALLOWED: dict[ProcessState, frozenset[ProcessState]] = {
    P.WAITING: frozenset({P.FORKED, P.FAILED}),
    P.FORKED: frozenset({P.RUNNING, P.FAILED, P.KILLED, P.LOST}),
    P.RUNNING: _ENDS,
    P.SUCCESS: frozenset(),
    P.FAILED: frozenset(),
    P.KILLED: frozenset(),
    P.LOST: frozenset(),
}

MACHINE = StateMachine("process", ALLOWED)
TERMINAL: frozenset[ProcessState] = MACHINE.TERMINAL
LIVE: frozenset[ProcessState] = frozenset({P.FORKED, P.RUNNING})
