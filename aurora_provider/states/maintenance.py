"""Host maintenance, as Aurora's ``MaintenanceController``::

    NONE ──start──> SCHEDULED ──drain──> DRAINING ──(no active task left)──> DRAINED
      │ ▲               │                  ▲  │                                 │
      │ └────────────── end ───────────────┼──┴─────────────────────────────────┘
      └──────────────── drain ─────────────┘

SCHEDULED hosts get tasks only when no other host can take them; DRAINING and DRAINED hosts
get none. Every mode goes back to NONE when maintenance ends; no mode is terminal.
"""

from __future__ import annotations

import enum

from aurora_provider.states.machine import StateMachine


class MaintenanceMode(enum.StrEnum):
    NONE = "NONE"
    SCHEDULED = "SCHEDULED"
    DRAINING = "DRAINING"
    DRAINED = "DRAINED"


M = MaintenanceMode

ALLOWED: dict[MaintenanceMode, frozenset[MaintenanceMode]] = {
    M.NONE: frozenset({M.SCHEDULED, M.DRAINING}),
    M.SCHEDULED: frozenset({M.DRAINING, M.NONE}),
    M.DRAINING: frozenset({M.DRAINED, M.NONE}),
    M.DRAINED: frozenset({M.NONE}),
}

MACHINE = StateMachine("host", ALLOWED, terminal=())
# Hosts that take no new task.
CLOSED: frozenset[MaintenanceMode] = frozenset({M.DRAINING, M.DRAINED})
