"""A rolling restart of a job's instances::

    ACTIVE ──(every batch restarted)──> DONE
       └────(the job was killed)──────> ABORTED
"""

from __future__ import annotations

import enum

from aurora_provider.states.machine import StateMachine


class RestartState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DONE = "DONE"
    ABORTED = "ABORTED"


ALLOWED: dict[RestartState, frozenset[RestartState]] = {
    RestartState.ACTIVE: frozenset({RestartState.DONE, RestartState.ABORTED}),
    RestartState.DONE: frozenset(),
    RestartState.ABORTED: frozenset(),
}

MACHINE = StateMachine("restart", ALLOWED)
TERMINAL: frozenset[RestartState] = MACHINE.TERMINAL
