"""Aurora's job update state machine (``JobUpdateStatus``).

::

                      start (pulse_interval_secs set)
                                   │
     start ──> ROLLING_FORWARD <───┴──> ROLL_FORWARD_AWAITING_PULSE
                 │  ▲   │   │                  │ (pulse)   ▲
          pause  │  │   │   └─────────> ROLL_FORWARD_PAUSED ┘
                 ▼  │   │ failure threshold / rollback
       ROLL_FORWARD_PAUSED   ▼
                          ROLLING_BACK <──> ROLL_BACK_PAUSED
                             │    ▲  └────> ROLL_BACK_AWAITING_PULSE
                             ▼    └───────────────┘ (pulse)
      terminal:  ROLLED_FORWARD  ROLLED_BACK  ABORTED  ERROR  FAILED

FAILED is reached when the failure threshold is hit with rollback disabled, or while rolling
back. ABORTED and ERROR are reachable from every active state. ``MACHINE.transition()`` is the
only place an update's status changes.
"""

from __future__ import annotations

import enum

from aurora_provider.errors import AuroraError
from aurora_provider.states.machine import USER_FACING, StateMachine


class UpdateStatus(enum.StrEnum):
    ROLLING_FORWARD = "ROLLING_FORWARD"
    ROLLING_BACK = "ROLLING_BACK"
    ROLL_FORWARD_PAUSED = "ROLL_FORWARD_PAUSED"
    ROLL_BACK_PAUSED = "ROLL_BACK_PAUSED"
    ROLL_FORWARD_AWAITING_PULSE = "ROLL_FORWARD_AWAITING_PULSE"
    ROLL_BACK_AWAITING_PULSE = "ROLL_BACK_AWAITING_PULSE"
    ROLLED_FORWARD = "ROLLED_FORWARD"
    ROLLED_BACK = "ROLLED_BACK"
    ABORTED = "ABORTED"
    ERROR = "ERROR"
    FAILED = "FAILED"


U = UpdateStatus

_END = frozenset({U.ABORTED, U.ERROR})

ALLOWED: dict[UpdateStatus, frozenset[UpdateStatus]] = {
    U.ROLLING_FORWARD: _END | {U.ROLLING_BACK, U.ROLL_FORWARD_PAUSED,
                               U.ROLL_FORWARD_AWAITING_PULSE, U.ROLLED_FORWARD, U.FAILED},
    U.ROLLING_BACK: _END | {U.ROLL_BACK_PAUSED, U.ROLL_BACK_AWAITING_PULSE, U.ROLLED_BACK,
                            U.FAILED},
    U.ROLL_FORWARD_PAUSED: _END | {U.ROLLING_BACK, U.ROLLING_FORWARD,
                                   U.ROLL_FORWARD_AWAITING_PULSE},
    U.ROLL_BACK_PAUSED: _END | {U.ROLLING_BACK, U.ROLL_BACK_AWAITING_PULSE},
    U.ROLL_FORWARD_AWAITING_PULSE: _END | {U.ROLLING_FORWARD, U.ROLL_FORWARD_PAUSED},
    U.ROLL_BACK_AWAITING_PULSE: _END | {U.ROLLING_BACK, U.ROLL_BACK_PAUSED},
    U.ROLLED_FORWARD: frozenset(),
    U.ROLLED_BACK: frozenset(),
    U.ABORTED: frozenset(),
    U.ERROR: frozenset(),
    U.FAILED: frozenset(),
}

# Users ask for these transitions (pause, resume, rollback): refusals are worded for them.
MACHINE = StateMachine("update", ALLOWED, refusal=USER_FACING)
TERMINAL: frozenset[UpdateStatus] = MACHINE.TERMINAL
ACTIVE: frozenset[UpdateStatus] = MACHINE.ACTIVE
# Moving instances (the other active states wait for a user or a pulse).
ROLLING: frozenset[UpdateStatus] = frozenset({U.ROLLING_FORWARD, U.ROLLING_BACK})
PAUSED: frozenset[UpdateStatus] = frozenset({U.ROLL_FORWARD_PAUSED, U.ROLL_BACK_PAUSED})
AWAITING_PULSE: frozenset[UpdateStatus] = frozenset(
    {U.ROLL_FORWARD_AWAITING_PULSE, U.ROLL_BACK_AWAITING_PULSE})
FORWARD: frozenset[UpdateStatus] = frozenset(
    {U.ROLLING_FORWARD, U.ROLL_FORWARD_PAUSED, U.ROLL_FORWARD_AWAITING_PULSE})
BACKWARD: frozenset[UpdateStatus] = frozenset(
    {U.ROLLING_BACK, U.ROLL_BACK_PAUSED, U.ROLL_BACK_AWAITING_PULSE})

# The groups of ``aurora update list --status`` (Aurora's client had the same names).
STATUS_GROUPS: dict[str, frozenset[UpdateStatus]] = {
    "active": ACTIVE,
    "all": frozenset(UpdateStatus),
    "blocked": PAUSED | AWAITING_PULSE,
    "failed": frozenset({U.ERROR, U.FAILED, U.ROLLED_BACK}),
    "inactive": TERMINAL,
    "paused": PAUSED,
    "succeeded": frozenset({U.ROLLED_FORWARD}),
}


class UnknownUpdateStatus(AuroraError, ValueError):
    """A ``--status`` filter that is neither a group nor a state."""


def can_transition(current: UpdateStatus, target: UpdateStatus) -> bool:
    return MACHINE.can(current, target)


def transition(update_id: str, current: UpdateStatus, target: UpdateStatus) -> UpdateStatus:
    """Check ``current -> target`` against the table; return the new status or raise."""
    return MACHINE.transition(update_id, current, target)


def rolling(forward: bool) -> UpdateStatus:
    return U.ROLLING_FORWARD if forward else U.ROLLING_BACK


def paused(forward: bool) -> UpdateStatus:
    return U.ROLL_FORWARD_PAUSED if forward else U.ROLL_BACK_PAUSED


def awaiting_pulse(forward: bool) -> UpdateStatus:
    return U.ROLL_FORWARD_AWAITING_PULSE if forward else U.ROLL_BACK_AWAITING_PULSE


def statuses_of(text: str) -> frozenset[UpdateStatus]:
    """A ``--status`` filter: a group name or a state name (any case)."""
    group = STATUS_GROUPS.get(text.lower())
    if group is not None:
        return group
    try:
        return frozenset({UpdateStatus(text.upper())})
    except ValueError:
        names = ", ".join([*STATUS_GROUPS, *UpdateStatus])
        raise UnknownUpdateStatus(f"status {text!r} is neither a group nor a state; use one "
                                  f"of {names}") from None
