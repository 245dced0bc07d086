"""Fakes for the client's unit tests: a scripted scheduler and a clock that sleeps by moving."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from aurora_provider.api import AsyncSchedulerClient, RetryPolicy, SchedulerClient

Answer = httpx.Response | Exception


@dataclass
class FakeTime:
    """A monotonic clock that only moves when slept on (or when a request takes time)."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def policy(self, **options: Any) -> RetryPolicy:
        """A policy that sleeps on this clock (no jitter unless asked)."""
        return RetryPolicy(**{"jitter": 0.0, **options, "sleep": self.sleep,
                              "async_sleep": self.async_sleep, "clock": self.clock})


class Scheduler:
    """Answers each request with the next scripted answer (the last one repeats)."""

    def __init__(self, answers: Iterable[Answer], *, takes: float = 0.0,
                 time: FakeTime | None = None) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.takes = takes
        self.time = time

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.time is not None:
            self.time.now += self.takes
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        # A fresh copy each time: a response is read once, by one kind of client.
        return httpx.Response(answer.status_code, headers=answer.headers,
                              content=answer.content)

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.requests]


def json_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message})


def sync_client(scheduler: Callable[[httpx.Request], httpx.Response],
                retry: RetryPolicy | None = None, token: str | None = "t",
                **options: object) -> SchedulerClient:
    return SchedulerClient("http://scheduler.test", token=token, retry=retry,
                           transport=httpx.MockTransport(scheduler), **options)


def async_client(scheduler: Callable[[httpx.Request], httpx.Response],
                 retry: RetryPolicy | None = None, token: str | None = "t"
                 ) -> AsyncSchedulerClient:
    return AsyncSchedulerClient("http://scheduler.test", token=token, retry=retry,
                                transport=httpx.MockTransport(scheduler))
