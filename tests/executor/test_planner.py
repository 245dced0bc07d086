from __future__ import annotations

import pytest

from executor.core.planner import Planner
from executor.core.spec import ProcessSpec
from executor.errors import InvalidTask

from .helpers import proc

pytestmark = pytest.mark.unit


def test_order_constraints_gate_runnable() -> None:
    plan = Planner([proc("a", "x"), proc("b", "x"), proc("c", "x")], [("a", "b")])
    assert plan.runnable_at(0) == ["a", "c"]
    plan.set_running("a")
    assert plan.runnable_at(0) == ["c"]
    plan.add_success("a", 1)
    assert plan.runnable_at(1) == ["b", "c"]


def test_retries_wait_min_duration_and_stop_at_max_failures() -> None:
    plan = Planner([proc("a", "x", max_failures=2, min_duration=5)], [])
    plan.set_running("a")
    plan.add_failure("a", 10)
    assert plan.runnable_at(12) == []
    assert plan.waiting_at(12) == ["a"]
    assert plan.next_wait(12) == 3
    assert plan.runnable_at(15) == ["a"]
    plan.set_running("a")
    plan.add_failure("a", 16)
    assert plan.failed == {"a"}
    assert plan.is_complete()


def test_ephemeral_failure_counts_as_finished_and_is_not_waited_for() -> None:
    plan = Planner([proc("e", "x", ephemeral=True), proc("r", "x")], [])
    plan.set_running("r")
    plan.add_success("r", 1)
    assert plan.is_complete()  # e may still be running
    plan.set_running("e")
    plan.add_failure("e", 2)
    assert plan.finished == {"r", "e"}


def test_daemon_reruns_after_success_until_the_run_cap() -> None:
    plan = Planner([proc("d", "x", daemon=True)], [])
    for i in range(Planner.TOTAL_RUN_LIMIT - 1):
        plan.set_running("d")
        plan.add_success("d", i)
        assert plan.runnable_at(i) == ["d"]
    plan.set_running("d")
    plan.add_success("d", 1000)
    assert plan.failed == {"d"}


def test_unlimited_retries_are_capped_at_100_runs() -> None:
    plan = Planner([proc("a", "x", max_failures=0)], [])
    for i in range(100):
        assert plan.runnable_at(i) == ["a"]
        plan.set_running("a")
        plan.add_failure("a", i)
    assert plan.failed == {"a"}


def test_lost_reruns_at_once_without_a_failure() -> None:
    plan = Planner([proc("a", "x", min_duration=60)], [])
    plan.set_running("a")
    plan.lost("a")
    assert plan.failures("a") == 0
    assert plan.runnable_at(0) == ["a"]


@pytest.mark.parametrize(
    ("processes", "order", "message"),
    [
        ([proc("d", "x", daemon=True), proc("b", "x")], [("d", "b")], "daemon"),
        ([proc("e", "x", ephemeral=True), proc("b", "x")], [("e", "b")], "ephemeral"),
        ([proc("a", "x"), proc("b", "x")], [("a", "b"), ("b", "a")], "cycle"),
        ([proc("a", "x")], [("a", "zz")], "mixes"),
    ],
)
def test_invalid_schedules(
    processes: list[ProcessSpec], order: list[tuple[str, ...]], message: str
) -> None:
    with pytest.raises(InvalidTask, match=message):
        Planner(processes, order)
