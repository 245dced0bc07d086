"""The meaning of "wait for a job", on plain status data."""

from __future__ import annotations

from typing import Any

import pytest

from aurora_provider.utils.job_waits import JobWait, WaitError, evaluate

pytestmark = pytest.mark.unit


def task(instance: int, status: str, at: float, message: str | None = None) -> dict[str, Any]:
    return {"task_id": f"t{instance}-{at}", "instance": instance, "status": status,
            "status_at": at, "message": message, "events": []}


def job(active: list[dict[str, Any]], terminal: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": "c/r/e/n", "active": active, "terminal": terminal}


RUNNING = JobWait.of(["RUNNING"])


def test_all_instances_running_is_done() -> None:
    verdict = evaluate(job([task(0, "RUNNING", 1), task(1, "RUNNING", 1)], []), RUNNING)
    assert (verdict.done, verdict.failed) == (True, False)
    assert verdict.instances == {0: "RUNNING", 1: "RUNNING"}


def test_a_pending_instance_keeps_waiting() -> None:
    verdict = evaluate(job([task(0, "RUNNING", 1), task(1, "PENDING", 1)], []), RUNNING)
    assert (verdict.done, verdict.failed) == (False, False)
    assert "1/2" in verdict.message


def test_a_rescheduled_failure_counts_by_its_replacement() -> None:
    status = job([task(0, "RUNNING", 5)], [task(0, "FAILED", 3, "exit 1")])
    assert evaluate(status, RUNNING).done


def test_an_instance_that_ended_elsewhere_fails_the_wait_with_its_reason() -> None:
    status = job([task(1, "RUNNING", 5)], [task(0, "FAILED", 3, "Process crunch failed")])
    verdict = evaluate(status, RUNNING)
    assert (verdict.done, verdict.failed) == (True, True)
    assert "instance 0 FAILED (Process crunch failed)" in verdict.message


def test_count_allows_some_instances_to_fail() -> None:
    status = job([task(1, "RUNNING", 5)], [task(0, "FAILED", 3)])
    assert evaluate(status, JobWait.of(["RUNNING"], count=1)).done
    assert not evaluate(status, JobWait.of(["RUNNING"], count=1)).failed


def test_selected_instances_only() -> None:
    status = job([task(0, "PENDING", 1), task(1, "RUNNING", 1)], [])
    assert evaluate(status, JobWait.of(["RUNNING"], [1])).done
    missing = evaluate(status, JobWait.of(["RUNNING"], [5]))
    assert missing.failed and "no instance 5" in missing.message


def test_finished_job_for_a_run() -> None:
    finished = JobWait.of(["FINISHED"])
    assert evaluate(job([], [task(0, "FINISHED", 2), task(1, "FINISHED", 2)]), finished).done
    failed = evaluate(job([], [task(0, "FINISHED", 2), task(1, "KILLED", 2)]), finished)
    assert failed.failed and "instance 1 KILLED" in failed.message


def test_no_tasks_at_all_fails() -> None:
    assert evaluate(job([], []), RUNNING).failed


@pytest.mark.parametrize(("states", "instances", "count", "message"), [
    (["RUNING"], None, None, "unknown task state(s) RUNING"),
    ([], None, None, "(none given)"),
    (["RUNNING"], None, 0, "count must be at least 1"),
    (["RUNNING"], [-1], None, "non-negative"),
])
def test_bad_waits_are_refused(states: list[str], instances: list[int] | None,
                               count: int | None, message: str) -> None:
    with pytest.raises(WaitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        JobWait.of(states, instances, count)


def test_wait_round_trips_through_json() -> None:
    wait = JobWait.of(["running", "FINISHED"], [3, 1], 2)
    assert JobWait.from_json(wait.to_json()) == wait
