"""Aurora's task state machine (``ScheduleStatus``), its rescheduling rules and the flapping
penalty.

The table follows Aurora's ``TaskStateMachine``::

    INIT ──> PENDING ──> ASSIGNED ──> STARTING ──> RUNNING ──> FINISHED / FAILED / KILLED / LOST
      │         ▲  │         │            │           │
      └─> THROTTLED│         └──> (any of RESTARTING, DRAINING, PREEMPTING, KILLING, PARTITIONED)
                   └─> KILLING ──> KILLED / FINISHED / FAILED / LOST

Terminal states are FINISHED, FAILED, KILLED and LOST; every other state is active.
``MACHINE.transition()`` is the only place a state may change; the rescheduling rules live in
``reschedules()`` and the flapping penalty in ``flapping_penalty()``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from aurora_provider.states.machine import IllegalTransition, StateMachine

__all__ = ["ACTIVE", "ALLOWED", "MACHINE", "TERMINAL", "Backoff", "Event", "IllegalTransition",
           "RescheduleInput", "TaskState", "can_transition", "flapping_penalty", "reschedules",
           "transition"]


class TaskState(enum.StrEnum):
    INIT = "INIT"
    THROTTLED = "THROTTLED"
    PENDING = "PENDING"
    ASSIGNED = "ASSIGNED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    KILLING = "KILLING"
    RESTARTING = "RESTARTING"
    DRAINING = "DRAINING"
    PREEMPTING = "PREEMPTING"
    PARTITIONED = "PARTITIONED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    LOST = "LOST"


S = TaskState

_ENDINGS = frozenset({S.FINISHED, S.FAILED, S.KILLED, S.LOST})
_AFTER_LAUNCH = frozenset(
    {S.FINISHED, S.FAILED, S.RESTARTING, S.DRAINING, S.KILLED, S.KILLING, S.LOST, S.PREEMPTING}
)

ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    S.INIT: frozenset({S.PENDING, S.THROTTLED}),
    S.THROTTLED: frozenset({S.PENDING, S.KILLING}),
    S.PENDING: frozenset({S.ASSIGNED, S.KILLING}),
    S.ASSIGNED: _AFTER_LAUNCH | {S.STARTING, S.RUNNING},
    S.STARTING: _AFTER_LAUNCH | {S.RUNNING, S.PARTITIONED},
    S.RUNNING: _AFTER_LAUNCH | {S.PARTITIONED},
    S.PREEMPTING: _ENDINGS | {S.KILLING, S.PARTITIONED},
    S.RESTARTING: _ENDINGS | {S.KILLING, S.PARTITIONED},
    S.DRAINING: _ENDINGS | {S.KILLING, S.PARTITIONED},
    # Aurora also allows DELETED (a pseudo-state: the row is removed), handled by pruning.
    S.KILLING: _ENDINGS | {S.PARTITIONED},
    S.PARTITIONED: frozenset(
        {S.LOST, S.FAILED, S.FINISHED, S.RUNNING, S.ASSIGNED, S.STARTING, S.RESTARTING,
         S.DRAINING, S.PREEMPTING, S.KILLING}
    ),
    S.FINISHED: frozenset(),
    S.FAILED: frozenset(),
    S.KILLED: frozenset(),
    S.LOST: frozenset(),
}

MACHINE = StateMachine("task", ALLOWED)
TERMINAL: frozenset[TaskState] = MACHINE.TERMINAL
ACTIVE: frozenset[TaskState] = MACHINE.ACTIVE
# States in which no runner exists yet: killing them needs no backend call.
NOT_LAUNCHED: frozenset[TaskState] = frozenset({S.INIT, S.THROTTLED, S.PENDING})
# States in which a runner may exist on an agent.
LAUNCHED: frozenset[TaskState] = ACTIVE - NOT_LAUNCHED
# Interrupted by an operator: such a run never counts as flapping.
INTERRUPTED: frozenset[TaskState] = frozenset({S.RESTARTING, S.KILLING, S.DRAINING})
# Terminations out of these states always reschedule (the task was moved, not failed).
_MOVED: frozenset[TaskState] = frozenset({S.RESTARTING, S.DRAINING, S.PREEMPTING})


def can_transition(current: TaskState, target: TaskState) -> bool:
    return MACHINE.can(current, target)


def transition(task_id: str, current: TaskState, target: TaskState) -> TaskState:
    """Check ``current -> target`` against the table; return the new state or raise."""
    return MACHINE.transition(task_id, current, target)


@dataclass(frozen=True)
class RescheduleInput:
    """What the rescheduling rule needs to know about a task that just terminated."""

    previous: TaskState  # the state the task was in before the terminal one
    terminal: TaskState
    is_service: bool
    max_task_failures: int  # -1 = retry forever
    failure_count: int  # failures including this one when terminal is FAILED


def reschedules(info: RescheduleInput) -> bool:
    """Aurora's rules: does this termination create a replacement task for the instance?"""
    if info.terminal not in TERMINAL:
        return False
    if info.previous is S.KILLING:  # an operator asked for it: never
        return False
    if info.previous in _MOVED:  # restarted, drained or preempted: always
        return True
    if info.terminal is S.LOST:
        return True
    if info.terminal is S.KILLED:  # killed without being asked (e.g. by the agent)
        return True
    if info.terminal is S.FINISHED:
        return info.is_service
    # FAILED; failure_count already counts this failure.
    if info.is_service or info.max_task_failures == -1:
        return True
    return info.failure_count < info.max_task_failures


@dataclass(frozen=True)
class Event:
    """One state change of a task: when and into which state."""

    timestamp: float
    state: TaskState


@dataclass(frozen=True)
class Backoff:
    """Truncated binary backoff: initial, doubling, capped at maximum (seconds)."""

    initial: float = 30.0
    maximum: float = 300.0

    def next(self, previous: float) -> float:
        if previous <= 0:
            return self.initial
        return min(self.maximum, previous * 2)


def flapped(events: Sequence[Event], threshold: float) -> bool:
    """Whether a terminated task ran for less than ``threshold`` seconds on its own.

    The run is measured from the last active state to the terminal one; runs that an
    operator interrupted (restart, kill, drain) never count.
    """
    if not events or events[-1].state not in TERMINAL:
        return False
    if any(e.state in INTERRUPTED for e in events):
        return False
    last_active = next((e for e in reversed(events) if e.state in ACTIVE), None)
    if last_active is None:
        return False
    return events[-1].timestamp - last_active.timestamp < threshold


def flapping_penalty(ancestry: Sequence[Sequence[Event]], threshold: float,
                     backoff: Backoff) -> float:
    """The delay before a replacement task may be scheduled.

    ``ancestry`` holds the event histories of the task's ancestors, nearest first; each
    consecutive flapped ancestor doubles the penalty up to the backoff's maximum.
    """
    penalty = 0.0
    for events in ancestry:
        if not flapped(events, threshold):
            break
        following = backoff.next(penalty)
        if following == penalty:
            break
        penalty = following
    return penalty
