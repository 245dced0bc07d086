"""The SLA rules of updates on their own: how many tasks must stay up, and the coordinator
client's answers (its sender injected; the real HTTP path is in ``test_sla_updates.py``)."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.updates.sla import (
    Answer,
    CoordinatorPolicy,
    Coordinators,
    CountPolicy,
    PercentagePolicy,
    count_hold,
    required_running,
)
from aurora_provider.states.task import TaskState

pytestmark = pytest.mark.unit
S = TaskState
NOW = 1000.0


def _task(i: int, status: TaskState = S.RUNNING, since: float = NOW - 100) -> TaskRow:
    return TaskRow(f"t{i}", "r/e/n", i, 1, status, NOW - 200, since)


def test_required_running_is_relaxed_to_all_but_one() -> None:
    assert required_running(CountPolicy(2, 60), 3) == 2
    assert required_running(CountPolicy(5, 60), 3) == 2  # the job shrank below its policy
    assert required_running(PercentagePolicy(66, 60), 3) == 2
    assert required_running(PercentagePolicy(50, 60), 10) == 5
    assert required_running(PercentagePolicy(99.9, 60), 10) == 9
    assert required_running(CountPolicy(1, 60), 1) == 0


def test_count_hold_counts_the_others_running_long_enough() -> None:
    tasks = [_task(0), _task(1, since=NOW - 10), _task(2, S.STARTING)]
    policy = CountPolicy(1, 60)
    assert count_hold(policy, tasks[1], tasks, NOW) is None  # task 0 stays up
    assert count_hold(policy, tasks[0], tasks, NOW) == (
        "held by SLA: 0 of 3 instances would remain RUNNING for 60s, policy needs 1")
    assert count_hold(CountPolicy(1, 5), tasks[0], tasks, NOW) is None


class _Sender:
    """Answers each request with ``reply`` once ``release`` is set."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.release = threading.Event()
        self.calls: list[dict[str, Any]] = []
        self.answered = threading.Event()

    def __call__(self, url: str, **kwargs: Any) -> httpx.Response:
        self.calls.append({"url": url, **kwargs})
        self.release.wait(10)
        try:
            if isinstance(self.reply, Exception):
                raise self.reply
            return self.reply  # type: ignore[no-any-return]
        finally:
            self.answered.set()


def _answer(c: Coordinators, sender: _Sender, policy: CoordinatorPolicy) -> Answer:
    assert c.ask(policy, "t0", "c/r/e/n/0", {"task": "c/r/e/n/0"}) is None  # sent
    assert c.ask(policy, "t1", "c/r/e/n/1", {}) is None  # one at a time per coordinator
    sender.release.set()
    sender.answered.wait(10)
    for _ in range(1000):
        answer = c.ask(policy, "t0", "c/r/e/n/0", {})
        if answer is not None:
            assert len(sender.calls) == 1
            return answer
        threading.Event().wait(0.01)  # the thread stores the answer just after replying
    raise AssertionError("no answer")


@pytest.mark.parametrize(("reply", "allowed", "reason"), [
    (httpx.Response(200, json={"ok": True}), True, "coordinator http://c answered ok=true"),
    (httpx.Response(200, json={"ok": False}), False, "coordinator http://c answered ok=false"),
    (httpx.Response(200, json={"drain": True}), False, "answered no boolean 'ok'"),
    (httpx.Response(503, text="busy"), False, "coordinator http://c answered HTTP 503"),
    (httpx.Response(200, text="yes"), False, "coordinator http://c answered no JSON"),
    (httpx.ConnectError("refused"), False, "coordinator http://c unreachable (ConnectError"),
])
def test_coordinator_answers(reply: Any, allowed: bool, reason: str) -> None:
    sender = _Sender(reply)
    policy = CoordinatorPolicy("http://c", "ok")
    answer = _answer(Coordinators(post=sender), sender, policy)
    assert answer.allowed is allowed and reason in answer.reason
    call = sender.calls[0]
    assert call["url"] == "http://c" and call["params"] == {"task": "c/r/e/n/0"}
    assert call["json"] == {"task": "c/r/e/n/0"}
