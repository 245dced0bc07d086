"""The one retry policy: what is retried for which method, backoff, attempts, the deadline."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from aurora_provider.api import NotFound, RetryPolicy, SchedulerUnavailable, ServerError
from aurora_provider.api.retry import retryable
from tests.api.fakes import FakeTime, Scheduler, async_client, json_error, sync_client

pytestmark = pytest.mark.unit

OK = httpx.Response(200, text="OK")
BUSY = json_error(503, "UNAVAILABLE", "not the leader")
REFUSED = httpx.ConnectError("connection refused")
KILLED = httpx.Response(200, json={"key": "c/r/e/n", "killed": []})


@pytest.mark.parametrize(("method", "error", "status", "expected"), [
    ("POST", httpx.ConnectError("refused"), None, True),  # never reached the server
    ("DELETE", httpx.ConnectTimeout("slow"), None, True),
    ("GET", httpx.ReadTimeout("slow answer"), None, True),  # the server may have seen it
    ("POST", httpx.ReadTimeout("slow answer"), None, False),
    ("PUT", httpx.RemoteProtocolError("cut"), None, False),
    ("GET", None, 502, True), ("GET", None, 503, True), ("GET", None, 504, True),
    ("POST", None, 503, False),
    ("GET", None, 500, False), ("GET", None, 404, False), ("GET", None, 200, False),
])
def test_what_is_retried(method: str, error: Exception | None, status: int | None,
                         expected: bool) -> None:
    assert retryable(method, error, status) is expected


def test_a_request_that_never_left_is_retried_for_every_method() -> None:
    time = FakeTime()
    scheduler = Scheduler([REFUSED, REFUSED, KILLED])
    with sync_client(scheduler, time.policy(attempts=3, initial=1.0)) as client:
        assert client.killall("c/r/e/n").killed == []
    assert scheduler.methods == ["POST", "POST", "POST"]
    assert time.slept == [1.0, 2.0]


def test_a_post_the_server_may_have_seen_is_sent_once() -> None:
    time = FakeTime()
    scheduler = Scheduler([httpx.ReadTimeout("no answer")])
    with sync_client(scheduler, time.policy()) as client, \
            pytest.raises(SchedulerUnavailable) as raised:
        client.kill("c/r/e/n", [0])
    assert scheduler.methods == ["POST"] and time.slept == []
    assert raised.value.code == "UNAVAILABLE" and "no answer" in str(raised.value)


def test_a_busy_answer_is_retried_for_gets_only() -> None:
    time = FakeTime()
    scheduler = Scheduler([BUSY, BUSY, OK])
    with sync_client(scheduler, time.policy()) as client:
        assert client.health() == "OK"
    assert len(scheduler.requests) == 3 and len(time.slept) == 2
    posted = Scheduler([BUSY, KILLED])
    with sync_client(posted, time.policy()) as client, pytest.raises(SchedulerUnavailable):
        client.killall("c/r/e/n")
    assert posted.methods == ["POST"]


def test_when_attempts_run_out_the_last_answer_is_the_error() -> None:
    time = FakeTime()
    scheduler = Scheduler([json_error(503, "UNAVAILABLE", "still electing")])
    with sync_client(scheduler, time.policy(attempts=4)) as client, \
            pytest.raises(SchedulerUnavailable) as raised:
        client.whoami()
    assert len(scheduler.requests) == 4 and len(time.slept) == 3
    assert raised.value.status == 503 and raised.value.message == "still electing"


def test_errors_that_retrying_cannot_fix_are_not_retried() -> None:
    time = FakeTime()
    for answer, error in ((json_error(500, "INTERNAL", "bug"), ServerError),
                          (json_error(404, "NOT_FOUND", "gone"), NotFound)):
        scheduler = Scheduler([answer])
        with sync_client(scheduler, time.policy()) as client, pytest.raises(error):
            client.job_status("c/r/e/n")
        assert len(scheduler.requests) == 1
    assert time.slept == []


def test_backoff_grows_up_to_its_maximum() -> None:
    time = FakeTime()
    scheduler = Scheduler([REFUSED])
    policy = time.policy(attempts=6, initial=1.0, multiplier=2.0, maximum=3.0, deadline=1e9)
    with sync_client(scheduler, policy) as client, pytest.raises(SchedulerUnavailable):
        client.health()
    assert time.slept == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_jitter_stays_within_its_fraction() -> None:
    policy = RetryPolicy(initial=1.0, multiplier=2.0, maximum=3.0, jitter=0.25)
    for failures, base in ((1, 1.0), (2, 2.0), (3, 3.0), (9, 3.0)):
        for _ in range(50):
            assert base * 0.75 <= policy.delay(failures) <= base * 1.25


def test_the_deadline_honours_the_next_sleep() -> None:
    # Tries at 0 and 1; the next sleep (2 s) would end at 3, past the 2.5 s deadline: stop.
    time = FakeTime()
    scheduler = Scheduler([REFUSED])
    policy = time.policy(attempts=10, initial=1.0, multiplier=2.0, deadline=2.5)
    with sync_client(scheduler, policy) as client, pytest.raises(SchedulerUnavailable):
        client.health()
    assert len(scheduler.requests) == 2 and time.slept == [1.0]
    assert time.now == 1.0


def test_the_deadline_counts_the_time_requests_take() -> None:
    # Each try takes 1 s: tries at 0 and 2 (after 1 s + a 1 s sleep); then 3 + 2 > 3.5.
    time = FakeTime()
    scheduler = Scheduler([REFUSED], takes=1.0, time=time)
    policy = time.policy(attempts=10, initial=1.0, multiplier=2.0, deadline=3.5)
    with sync_client(scheduler, policy) as client, pytest.raises(SchedulerUnavailable):
        client.health()
    assert len(scheduler.requests) == 2 and time.slept == [1.0]


def test_the_deadline_starts_with_each_request() -> None:
    time = FakeTime()
    scheduler = Scheduler([REFUSED, OK, REFUSED, OK])
    policy = time.policy(initial=1.0, deadline=1.5)
    with sync_client(scheduler, policy) as client:
        assert client.health() == "OK"
        time.now += 100.0
        assert client.health() == "OK"
    assert time.slept == [1.0, 1.0]


def test_one_attempt_means_no_retry() -> None:
    time = FakeTime()
    scheduler = Scheduler([REFUSED, OK])
    with sync_client(scheduler, time.policy(attempts=1)) as client, \
            pytest.raises(SchedulerUnavailable):
        client.health()
    assert len(scheduler.requests) == 1 and time.slept == []


def test_the_async_client_follows_the_same_policy_with_its_own_sleep() -> None:
    time = FakeTime()
    scheduler = Scheduler([REFUSED, BUSY, OK, httpx.ReadTimeout("no answer")])
    blocking_sleeps: list[float] = []

    async def scenario() -> None:
        policy = RetryPolicy(attempts=4, initial=1.0, jitter=0.0, clock=time.clock,
                             sleep=blocking_sleeps.append, async_sleep=time.async_sleep)
        async with async_client(scheduler, policy) as client:
            assert await client.health() == "OK"
            with pytest.raises(SchedulerUnavailable):
                await client.kill("c/r/e/n", [1])

    asyncio.run(scenario())
    assert scheduler.methods == ["GET", "GET", "GET", "POST"]
    assert time.slept == [1.0, 2.0] and blocking_sleeps == []


def test_the_async_deadline_honours_the_next_sleep() -> None:
    time = FakeTime()
    scheduler = Scheduler([REFUSED])

    async def scenario() -> None:
        policy = time.policy(attempts=10, initial=1.0, multiplier=2.0, deadline=2.5)
        async with async_client(scheduler, policy) as client:
            with pytest.raises(SchedulerUnavailable) as raised:
                await client.health()
            assert raised.value.code == "UNAVAILABLE"

    asyncio.run(scenario())
    assert len(scheduler.requests) == 2 and time.slept == [1.0]
