"""A rolling restart of a job's instances::

    ACTIVE ──(every batch restarted)──────────> DONE
       ├────(the job was killed)──────────────> ABORTED
       └────(more instances failed than allowed)> FAILED
"""

from __future__ import annotations

import enum

from aurora_provider.states.machine import StateMachine


class RestartState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DONE = "DONE"
    ABORTED = "ABORTED"
    FAILED = "FAILED"


ALLOWED: dict[RestartState, frozenset[RestartState]] = {
    RestartState.ACTIVE: frozenset({RestartState.DONE, RestartState.ABORTED,
                                     RestartState.FAILED}),
    RestartState.DONE: frozenset(),
    RestartState.ABORTED: frozenset(),
    RestartState.FAILED: frozenset(),
}

MACHINE = StateMachine("restart", ALLOWED)
TERMINAL: frozenset[RestartState] = MACHINE.TERMINAL
