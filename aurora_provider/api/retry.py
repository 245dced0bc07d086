"""The clients' one retry policy, run by tenacity.

What is retried depends on whether the server may have seen the request: one that never
reached it (connection refused, connect timeout) is retried for every method; a read that
failed, or a 502/503/504 answer, only for GETs, so a create or a kill is never sent twice
after the server saw it. Delays grow exponentially with jitter, bounded by ``attempts`` and
by ``deadline``: a retry whose sleep would end past the deadline is not made.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import tenacity

RETRIED_STATUS = frozenset({502, 503, 504})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


def retryable(method: str, error: BaseException | None, status: int | None = None) -> bool:
    """Whether a request that failed with ``error`` (or was answered ``status``) may be sent
    again."""
    if isinstance(error, _NOT_SENT):
        return True
    if method != "GET":
        return False
    if error is not None:
        return isinstance(error, httpx.TransportError)
    return status in RETRIED_STATUS


def _retry_state_says(method: str) -> Callable[[tenacity.RetryCallState], bool]:
    def check(state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None:
            return False
        if outcome.failed:
            return retryable(method, outcome.exception())
        response: httpx.Response = outcome.result()
        return retryable(method, None, response.status_code)

    return check


def _last_outcome(state: tenacity.RetryCallState) -> Any:
    """When retries stop: the last answer, or the last error raised again."""
    outcome = state.outcome
    return outcome.result() if outcome is not None else None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and an overall deadline.

    :param attempts: tries in all (1: no retry).
    :param initial: the first delay, in seconds.
    :param maximum: the longest delay (before jitter).
    :param multiplier: each delay is the previous one times this.
    :param jitter: fraction of each delay drawn at random (0.2: +-20%).
    :param deadline: seconds from the first try after which no retry starts; a retry whose
        sleep would end past it is not made.
    :param sleep: how the blocking client sleeps (tests pass a fake).
    :param async_sleep: how the async client sleeps.
    :param clock: seconds of a monotonic clock, for the deadline.
    """

    attempts: int = 5
    initial: float = 0.2
    maximum: float = 3.0
    multiplier: float = 2.0
    jitter: float = 0.2
    deadline: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep,
                                                           compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def delay(self, failures: int) -> float:
        """The sleep after the ``failures``-th failed try (1, 2, ...)."""
        base = min(self.maximum, self.initial * self.multiplier ** (failures - 1))
        return base * (1 + random.uniform(-self.jitter, self.jitter))

    def retrying(self, method: str) -> tenacity.Retrying:
        """A tenacity loop for one blocking request with ``method``; call it with the send."""
        return tenacity.Retrying(sleep=self.sleep, **self._rules(method))

    def async_retrying(self, method: str) -> tenacity.AsyncRetrying:
        """The same loop for one request of the async client."""
        return tenacity.AsyncRetrying(sleep=self.async_sleep, **self._rules(method))

    def _rules(self, method: str) -> dict[str, Any]:
        ends = self.clock() + self.deadline

        def stop(state: tenacity.RetryCallState) -> bool:
            return (state.attempt_number >= self.attempts
                    or self.clock() + state.upcoming_sleep > ends)

        return {"stop": stop, "wait": lambda state: self.delay(state.attempt_number),
                "retry": _retry_state_says(method), "retry_error_callback": _last_outcome}


NO_RETRY = RetryPolicy(attempts=1)
