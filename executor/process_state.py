"""The state machine of one run of a process.

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

from enum import StrEnum

from .errors import StateTransitionError


class ProcessState(StrEnum):
    WAITING = "WAITING"
    FORKED = "FORKED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    KILLED = "KILLED"
    LOST = "LOST"


TERMINAL: frozenset[ProcessState] = frozenset(
    {ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.KILLED, ProcessState.LOST}
)
LIVE: frozenset[ProcessState] = frozenset({ProcessState.FORKED, ProcessState.RUNNING})

ALLOWED: dict[ProcessState, frozenset[ProcessState]] = {
    ProcessState.WAITING: frozenset({ProcessState.FORKED, ProcessState.FAILED}),
    ProcessState.FORKED: frozenset(
        {ProcessState.RUNNING, ProcessState.FAILED, ProcessState.KILLED, ProcessState.LOST}
    ),
    ProcessState.RUNNING: frozenset(
        {ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.KILLED, ProcessState.LOST}
    ),
    ProcessState.SUCCESS: frozenset(),
    ProcessState.FAILED: frozenset(),
    ProcessState.KILLED: frozenset(),
    ProcessState.LOST: frozenset(),
}


def check_transition(process: str, old: ProcessState, new: ProcessState) -> None:
    """Raise unless ``old -> new`` is in the table."""
    if new not in ALLOWED[old]:
        raise StateTransitionError(f"process {process}: {old.value} -> {new.value} is not allowed")
