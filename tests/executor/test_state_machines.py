from __future__ import annotations

import pytest

from executor import process_state, task_state
from executor.errors import StateTransitionError
from executor.process_state import ProcessState as P
from executor.task_state import TaskState as T


def test_process_table_is_complete_and_terminal_states_are_final() -> None:
    assert set(process_state.ALLOWED) == set(P)
    for state in process_state.TERMINAL:
        assert process_state.ALLOWED[state] == frozenset()


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
    process_state.check_transition("p", old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [(P.WAITING, P.RUNNING), (P.SUCCESS, P.RUNNING), (P.FAILED, P.WAITING), (P.LOST, P.RUNNING)],
)
def test_refused_process_transitions(old: P, new: P) -> None:
    with pytest.raises(StateTransitionError, match=f"{old.value} -> {new.value}"):
        process_state.check_transition("p", old, new)


def test_task_stages() -> None:
    task_state.check_transition(T.ACTIVE, T.CLEANING)
    task_state.check_transition(T.CLEANING, T.FINALIZING)
    task_state.check_transition(T.CLEANING, T.KILLED)  # finalization wait ran out
    task_state.check_transition(T.FINALIZING, T.SUCCESS)
    for bad in [(T.ACTIVE, T.SUCCESS), (T.FINALIZING, T.CLEANING), (T.SUCCESS, T.ACTIVE)]:
        with pytest.raises(StateTransitionError):
            task_state.check_transition(*bad)
