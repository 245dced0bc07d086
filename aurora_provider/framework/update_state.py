"""Aurora's job update state machine (``JobUpdateStatus``), in one module with no project deps.

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
back. ABORTED and ERROR are reachable from every active state. ``transition()`` is the only
place an update's status changes.
"""

from __future__ import annotations

import enum


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


class InstanceAction(enum.StrEnum):
    """What happened to one instance during an update (Aurora's ``JobUpdateAction``)."""

    INSTANCE_UPDATING = "INSTANCE_UPDATING"
    INSTANCE_UPDATED = "INSTANCE_UPDATED"
    INSTANCE_ROLLING_BACK = "INSTANCE_ROLLING_BACK"
    INSTANCE_ROLLED_BACK = "INSTANCE_ROLLED_BACK"
    INSTANCE_UPDATE_FAILED = "INSTANCE_UPDATE_FAILED"
    INSTANCE_ROLLBACK_FAILED = "INSTANCE_ROLLBACK_FAILED"


U = UpdateStatus

TERMINAL: frozenset[UpdateStatus] = frozenset(
    {U.ROLLED_FORWARD, U.ROLLED_BACK, U.ABORTED, U.ERROR, U.FAILED})
ACTIVE: frozenset[UpdateStatus] = frozenset(UpdateStatus) - TERMINAL
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


class IllegalUpdateTransition(Exception):
    """A status change the table does not allow."""

    def __init__(self, update_id: str, current: UpdateStatus, target: UpdateStatus) -> None:
        super().__init__(f"update {update_id} is {current}; it cannot become {target}")
        self.update_id = update_id
        self.current = current
        self.target = target


def can_transition(current: UpdateStatus, target: UpdateStatus) -> bool:
    return target in ALLOWED[current]


def transition(update_id: str, current: UpdateStatus, target: UpdateStatus) -> UpdateStatus:
    """Check ``current -> target`` against the table; return the new status or raise."""
    if target not in ALLOWED[current]:
        raise IllegalUpdateTransition(update_id, current, target)
    return target


def rolling(forward: bool) -> UpdateStatus:
    return U.ROLLING_FORWARD if forward else U.ROLLING_BACK


def paused(forward: bool) -> UpdateStatus:
    return U.ROLL_FORWARD_PAUSED if forward else U.ROLL_BACK_PAUSED


def awaiting_pulse(forward: bool) -> UpdateStatus:
    return U.ROLL_FORWARD_AWAITING_PULSE if forward else U.ROLL_BACK_AWAITING_PULSE


def working_action(forward: bool) -> InstanceAction:
    return InstanceAction.INSTANCE_UPDATING if forward else InstanceAction.INSTANCE_ROLLING_BACK


def done_action(forward: bool) -> InstanceAction:
    return InstanceAction.INSTANCE_UPDATED if forward else InstanceAction.INSTANCE_ROLLED_BACK


def failed_action(forward: bool) -> InstanceAction:
    return (InstanceAction.INSTANCE_UPDATE_FAILED if forward
            else InstanceAction.INSTANCE_ROLLBACK_FAILED)


def statuses_of(text: str) -> frozenset[UpdateStatus]:
    """A ``--status`` filter: a group name or a state name (any case); ValueError otherwise."""
    group = STATUS_GROUPS.get(text.lower())
    if group is not None:
        return group
    try:
        return frozenset({UpdateStatus(text.upper())})
    except ValueError:
        names = ", ".join([*STATUS_GROUPS, *UpdateStatus])
        raise ValueError(f"status {text!r} is neither a group nor a state; use one of "
                         f"{names}") from None
