"""The executor's state machines (in aurora_provider.states) as the executor uses them."""

from __future__ import annotations

import pytest

from aurora_provider.states import executor_task, process_run
from aurora_provider.states.executor_task import ExecutorTaskState as T
from aurora_provider.states.machine import IllegalTransition
from aurora_provider.states.process_run import ProcessState as P

pytestmark = pytest.mark.unit


def test_process_table_is_complete_and_terminal_states_are_final() -> None:
    assert set(process_run.ALLOWED) == set(P)
    for state in process_run.TERMINAL:
        assert process_run.ALLOWED[state] == frozenset()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (P.WAITING, P.FORKED),
        (P.FORKED, P.RUNNING),
        (P.RUNNING, P.SUCCESS),
        (P.RUNNING, P.FAILED),
        (P.RUNNING, P.KILLED),
        (P.RUNNING, P.LOST),
        (P.WAITING, P.FAILED),
    ],
)
def test_allowed_process_transitions(old: P, new: P) -> None:
    process_run.MACHINE.transition("p", old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [(P.WAITING, P.RUNNING), (P.SUCCESS, P.RUNNING), (P.FAILED, P.WAITING), (P.LOST, P.RUNNING)],
)
def test_refused_process_transitions(old: P, new: P) -> None:
    with pytest.raises(IllegalTransition, match=f"{old.value} -> {new.value}"):
        process_run.MACHINE.transition("p", old, new)


def test_task_stages() -> None:
    machine = executor_task.MACHINE
    machine.transition("t", T.ACTIVE, T.CLEANING)
    machine.transition("t", T.CLEANING, T.FINALIZING)
    machine.transition("t", T.CLEANING, T.KILLED)  # finalization wait ran out
    machine.transition("t", T.FINALIZING, T.SUCCESS)
    for bad in [(T.ACTIVE, T.SUCCESS), (T.FINALIZING, T.CLEANING), (T.SUCCESS, T.ACTIVE)]:
        with pytest.raises(IllegalTransition):
            machine.transition("t", *bad)
