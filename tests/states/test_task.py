"""Aurora's task state machine: the table, the rescheduling rules, the flapping penalty."""

from __future__ import annotations

import pytest

from aurora_provider.states.task import (
    ACTIVE,
    ALLOWED,
    TERMINAL,
    Backoff,
    Event,
    IllegalTransition,
    RescheduleInput,
    TaskState,
    flapping_penalty,
    reschedules,
    transition,
)

pytestmark = pytest.mark.unit
S = TaskState


def test_table_matches_aurora() -> None:
    assert ALLOWED[S.INIT] == {S.PENDING, S.THROTTLED}
    assert ALLOWED[S.THROTTLED] == {S.PENDING, S.KILLING}
    assert ALLOWED[S.PENDING] == {S.ASSIGNED, S.KILLING}
    assert ALLOWED[S.RUNNING] == {S.FINISHED, S.RESTARTING, S.DRAINING, S.FAILED, S.KILLING,
                                  S.KILLED, S.LOST, S.PREEMPTING, S.PARTITIONED}
    assert ALLOWED[S.KILLING] == {S.FINISHED, S.FAILED, S.KILLED, S.LOST, S.PARTITIONED}
    assert S.PARTITIONED not in ALLOWED[S.ASSIGNED]
    assert all(not ALLOWED[s] for s in TERMINAL)
    assert set(TaskState) == TERMINAL | ACTIVE and not TERMINAL & ACTIVE


def test_transition_is_checked() -> None:
    assert transition("t", S.PENDING, S.ASSIGNED) is S.ASSIGNED
    with pytest.raises(IllegalTransition, match="t: illegal transition FINISHED -> RUNNING"):
        transition("t", S.FINISHED, S.RUNNING)


def info(previous: TaskState, terminal: TaskState, *, service: bool = False,
         max_failures: int = 1, failures: int = 0) -> RescheduleInput:
    return RescheduleInput(previous, terminal, service, max_failures, failures)


def test_rescheduling_rules() -> None:
    assert reschedules(info(S.RUNNING, S.FINISHED, service=True))
    assert not reschedules(info(S.RUNNING, S.FINISHED))
    assert reschedules(info(S.RUNNING, S.FAILED, max_failures=3, failures=2))
    assert not reschedules(info(S.RUNNING, S.FAILED, max_failures=3, failures=3))
    assert reschedules(info(S.RUNNING, S.FAILED, max_failures=-1, failures=99))
    assert reschedules(info(S.RUNNING, S.FAILED, service=True, failures=5))
    assert reschedules(info(S.RUNNING, S.LOST))
    assert reschedules(info(S.RUNNING, S.KILLED))  # not asked for
    assert not reschedules(info(S.KILLING, S.KILLED, service=True))
    assert not reschedules(info(S.KILLING, S.LOST, service=True))
    assert reschedules(info(S.RESTARTING, S.KILLED))
    assert reschedules(info(S.DRAINING, S.FINISHED))


def test_flapping_penalty_doubles_per_flapped_ancestor() -> None:
    backoff = Backoff(30, 300)
    short = [Event(0, S.PENDING), Event(1, S.RUNNING), Event(5, S.FAILED)]
    long = [Event(0, S.RUNNING), Event(1000, S.FAILED)]
    restarted = [Event(0, S.RUNNING), Event(1, S.RESTARTING), Event(2, S.KILLED)]
    assert flapping_penalty([short], 60, backoff) == 30
    assert flapping_penalty([short, short, short], 60, backoff) == 120
    assert flapping_penalty([short] * 10, 60, backoff) == 300
    assert flapping_penalty([short, long, short], 60, backoff) == 30
    assert flapping_penalty([long], 60, backoff) == 0
    assert flapping_penalty([restarted], 60, backoff) == 0
