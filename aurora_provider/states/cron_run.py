"""One run of a cron job (a trigger, scheduled or by hand) and its outcome::

    WAITING ──(the previous run is gone)──> RUNNING ──(every task terminal)──> DONE
       └──(superseded, descheduled, or cancelled by CANCEL_NEW)───────────────> DONE

A KILL_EXISTING trigger WAITs while the previous run is killed; a run that starts at once is
RUNNING from its first record. ``CronOutcome`` says how a DONE run ended.
"""

from __future__ import annotations

import enum

from aurora_provider.states.machine import StateMachine


class CronRunState(enum.StrEnum):
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    DONE = "DONE"


ALLOWED: dict[CronRunState, frozenset[CronRunState]] = {
    CronRunState.WAITING: frozenset({CronRunState.RUNNING, CronRunState.DONE}),
    CronRunState.RUNNING: frozenset({CronRunState.DONE}),
    CronRunState.DONE: frozenset(),
}

MACHINE = StateMachine("cron run", ALLOWED)
TERMINAL: frozenset[CronRunState] = MACHINE.TERMINAL


class CronOutcome(enum.StrEnum):
    """How a run ended: its tasks' worst end, or CANCELLED when it never started."""

    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    LOST = "LOST"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"
