"""The progress of one instance within one direction of an update (Aurora's
``InstanceUpdateStatus``), and the actions recorded about it (``JobUpdateAction``)::

    IDLE ──start──> WORKING ──> SUCCEEDED
                       └──────> FAILED

An instance waits IDLE until its group starts; WORKING it is killed, replaced and watched;
it ends SUCCEEDED or FAILED. A rollback starts every touched instance IDLE again.
"""

from __future__ import annotations

import enum

from aurora_provider.states.machine import StateMachine


class InstanceUpdateState(enum.StrEnum):
    IDLE = "IDLE"
    WORKING = "WORKING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


I = InstanceUpdateState  # noqa: E741

ALLOWED: dict[InstanceUpdateState, frozenset[InstanceUpdateState]] = {
    I.IDLE: frozenset({I.WORKING}),
    I.WORKING: frozenset({I.SUCCEEDED, I.FAILED}),
    I.SUCCEEDED: frozenset(),
    I.FAILED: frozenset(),
}

MACHINE = StateMachine("instance update", ALLOWED)
TERMINAL: frozenset[InstanceUpdateState] = MACHINE.TERMINAL


class InstanceAction(enum.StrEnum):
    """What happened to one instance during an update (Aurora's ``JobUpdateAction``)."""

    INSTANCE_UPDATING = "INSTANCE_UPDATING"
    INSTANCE_UPDATED = "INSTANCE_UPDATED"
    INSTANCE_ROLLING_BACK = "INSTANCE_ROLLING_BACK"
    INSTANCE_ROLLED_BACK = "INSTANCE_ROLLED_BACK"
    INSTANCE_UPDATE_FAILED = "INSTANCE_UPDATE_FAILED"
    INSTANCE_ROLLBACK_FAILED = "INSTANCE_ROLLBACK_FAILED"


FAILED_ACTIONS: frozenset[InstanceAction] = frozenset(
    {InstanceAction.INSTANCE_UPDATE_FAILED, InstanceAction.INSTANCE_ROLLBACK_FAILED})


def working_action(forward: bool) -> InstanceAction:
    return InstanceAction.INSTANCE_UPDATING if forward else InstanceAction.INSTANCE_ROLLING_BACK


def done_action(forward: bool) -> InstanceAction:
    return InstanceAction.INSTANCE_UPDATED if forward else InstanceAction.INSTANCE_ROLLED_BACK


def failed_action(forward: bool) -> InstanceAction:
    return (InstanceAction.INSTANCE_UPDATE_FAILED if forward
            else InstanceAction.INSTANCE_ROLLBACK_FAILED)
