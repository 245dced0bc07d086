"""A task's health, as the executor's health checker judges it (Aurora's health checker)::

    STARTING ──(min_consecutive_successes)──> HEALTHY
        │                                        │
        └──(too many failures, or not in time)───┴──> UNHEALTHY

NONE is the health of a task without a health check: it has no transitions. A task that
is UNHEALTHY fails; it never becomes healthy again.
"""

from __future__ import annotations

import enum

from aurora_provider.states.machine import StateMachine


class HealthState(enum.StrEnum):
    NONE = "none"
    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


H = HealthState

ALLOWED: dict[HealthState, frozenset[HealthState]] = {
    H.NONE: frozenset(),
    H.STARTING: frozenset({H.HEALTHY, H.UNHEALTHY}),
    H.HEALTHY: frozenset({H.UNHEALTHY}),
    H.UNHEALTHY: frozenset(),
}

MACHINE = StateMachine("health", ALLOWED, terminal={H.UNHEALTHY})
# Health that lets a task count as RUNNING.
READY: frozenset[HealthState] = frozenset({H.NONE, H.HEALTHY})
