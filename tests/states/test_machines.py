"""The generic machine and the tables of every machine: complete, checked, one typed error."""

from __future__ import annotations

import enum

import pytest

from aurora_provider.errors import AuroraError
from aurora_provider.states import (
    cron_run,
    executor_task,
    health,
    instance_update,
    maintenance,
    process_run,
    restart,
    task,
    update,
)
from aurora_provider.states.machine import IllegalTransition, StateMachine

pytestmark = pytest.mark.unit

MACHINES = [task, update, instance_update, restart, cron_run, maintenance, executor_task,
            process_run, health]


@pytest.mark.parametrize("module", MACHINES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_every_state_has_a_row_and_terminal_states_are_final(module: object) -> None:
    machine: StateMachine[enum.Enum] = module.MACHINE  # type: ignore[attr-defined]
    states = set(type(next(iter(machine.ALLOWED))))
    assert set(machine.ALLOWED) == states
    assert states == machine.ACTIVE | machine.TERMINAL
    for state in machine.TERMINAL:
        assert not machine.ALLOWED[state]


def test_a_refused_transition_is_one_typed_line() -> None:
    with pytest.raises(IllegalTransition) as refused:
        restart.MACHINE.transition("7", restart.RestartState.DONE, restart.RestartState.ACTIVE)
    error = refused.value
    assert isinstance(error, AuroraError)
    assert str(error) == "restart 7: illegal transition DONE -> ACTIVE"
    assert (error.machine, error.subject, error.current, error.target) == (
        "restart", "7", restart.RestartState.DONE, restart.RestartState.ACTIVE)
    # Users ask for update transitions: their refusal is worded for them.
    with pytest.raises(IllegalTransition, match="update u is ABORTED; it cannot become"):
        update.MACHINE.transition("u", update.UpdateStatus.ABORTED,
                                  update.UpdateStatus.ROLLING_FORWARD)


def test_a_table_naming_a_state_without_a_row_is_refused() -> None:
    class Light(enum.Enum):
        RED = "RED"
        GREEN = "GREEN"

    with pytest.raises(ValueError, match="have no row"):
        StateMachine("light", {Light.RED: {Light.GREEN}})


def test_the_small_machines_follow_aurora() -> None:
    R, C, M, H, Iu = (restart.RestartState, cron_run.CronRunState, maintenance.MaintenanceMode,
                      health.HealthState, instance_update.InstanceUpdateState)
    assert restart.MACHINE.can(R.ACTIVE, R.ABORTED) and not restart.MACHINE.can(R.DONE, R.ABORTED)
    assert cron_run.MACHINE.can(C.WAITING, C.DONE)  # a cancelled run never started
    assert not cron_run.MACHINE.can(C.DONE, C.RUNNING)
    assert frozenset() == maintenance.MACHINE.TERMINAL  # every mode ends in NONE again
    assert all(maintenance.MACHINE.can(m, M.NONE) for m in M if m is not M.NONE)
    assert not maintenance.MACHINE.can(M.DRAINED, M.SCHEDULED)
    assert health.MACHINE.can(H.STARTING, H.HEALTHY) and not health.MACHINE.can(H.UNHEALTHY,
                                                                              H.HEALTHY)
    assert {H.NONE, H.HEALTHY} == health.READY
    assert {Iu.SUCCEEDED, Iu.FAILED} == instance_update.MACHINE.TERMINAL
    P = process_run.ProcessState
    assert {P.FORKED, P.RUNNING} == process_run.LIVE


def test_update_status_filters_name_the_choices() -> None:
    with pytest.raises(update.UnknownUpdateStatus, match="'sideways' is neither"):
        update.statuses_of("sideways")
    assert isinstance(update.UnknownUpdateStatus("x"), AuroraError)
