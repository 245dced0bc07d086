"""The status checker interface, the statuses checkers report, and checkers composed.

As in Aurora's executor, a checker watches one aspect of a running task and says, when
polled, what it thinks (or nothing)::

    start(now)        the task is running: begin (join the serverset, start probing...)
    poll(now, live)   what it has to say now, given the live process runs; None: nothing
    stop()            the task is going away: stop, leave, begin a graceful shutdown...
    due               clock time of the next poll it needs (INFINITY: it wakes the runner)

``start`` and ``stop`` never raise and never wait for the task: a checker that cannot do its
job says so with a FAILED status at its next poll. Once stopped, a checker reports nothing
but how its stopping goes (STOPPING while a graceful shutdown runs). The runner's loop
does the polling, so a wait a checker needs (the lifecycle's) is a ``due`` time, never a
sleep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol

from aurora_provider.states.health import HealthState

if TYPE_CHECKING:
    from ..core.dispatcher import ProcessRun

INFINITY = float("inf")


# What a checker can say. (A Literal, not an Enum: defining an Enum costs the runner's
# start-up a third of a millisecond, and these are only ever compared.)
Verdict = Literal[
    "starting",  # not ready yet (health checks not passed yet)
    "healthy",
    "stopping",  # stop() began something that takes a while (graceful shutdown)
    "unhealthy",  # the task fails: its health check failed
    "failed",  # the task fails: the checker could not do its job
]
# The worse verdict wins when checkers are composed.
_SEVERITY = {"healthy": 0, "starting": 1, "stopping": 2, "unhealthy": 3, "failed": 3}
_HEALTH = {"starting": HealthState.STARTING, "healthy": HealthState.HEALTHY,
           "unhealthy": HealthState.UNHEALTHY}  # fmt: skip


class Status(NamedTuple):
    """What a checker has to say: a verdict, and why."""

    verdict: Verdict
    reason: str | None = None

    @property
    def health(self) -> HealthState | None:
        """The task's health this status speaks of, if it speaks of health."""
        return _HEALTH.get(self.verdict)

    @property
    def fails_task(self) -> bool:
        return self.verdict in ("unhealthy", "failed")


class StatusChecker(Protocol):
    def start(self, now: float) -> None: ...

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None: ...

    def stop(self) -> None: ...

    @property
    def due(self) -> float: ...


def worst(statuses: Sequence[Status | None]) -> Status | None:
    """The status that matters most (the first of equals), or None if none says anything."""
    result: Status | None = None
    for status in statuses:
        if status is not None and (
            result is None or _SEVERITY[status.verdict] > _SEVERITY[result.verdict]
        ):
            result = status
    return result


class Checkers:
    """Several checkers as one checker: started in order, polled together, stopped once.

    :param checkers: the checkers, in the order they start and stop.
    """

    def __init__(self, checkers: Sequence[StatusChecker]) -> None:
        self.checkers = tuple(checkers)
        self.started = False
        self.stopped = False

    def start(self, now: float) -> None:
        self.started = True
        for checker in self.checkers:
            checker.start(now)

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None:
        return worst([checker.poll(now, live) for checker in self.checkers])

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            for checker in self.checkers:
                checker.stop()

    @property
    def due(self) -> float:
        return min((checker.due for checker in self.checkers), default=INFINITY)
