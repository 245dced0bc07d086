"""Health checks as Aurora's executor did them: HTTP or shell, counted in attempts.

The first ``ceil(initial_interval_secs / interval_secs)`` attempts may fail without harm.
The task is healthy after ``min_consecutive_successes`` successes in a row; it is unhealthy
(and fails) after more than ``max_consecutive_failures`` failures in a row past the grace
attempts, or when it cannot become healthy within ``grace + max_consecutive_failures +
min_consecutive_successes`` attempts. While ``<sandbox>/.healthchecksnooze`` exists, checks
are skipped and count as successes. The HTTP check GETs ``http://localhost:PORT/ENDPOINT``;
an error status still has its (empty) body compared, as Aurora's signaler did.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aurora_provider.states.health import HealthState

from ..core.spec import HealthSpec
from .checker import INFINITY, Status, Verdict
from .http import http_request

if TYPE_CHECKING:
    from ..core.dispatcher import ProcessRun

Probe = Callable[[], tuple[bool, str | None]]
_VERDICTS: dict[HealthState, Verdict] = {HealthState.STARTING: "starting",
                                         HealthState.HEALTHY: "healthy",
                                         HealthState.UNHEALTHY: "unhealthy"}  # fmt: skip
FAILURE_REASON_LENGTH = 64


def _shorten(text: str) -> str:
    limit = FAILURE_REASON_LENGTH
    return text if len(text) < limit else text[: limit - 3] + "..."


def http_probe(spec: HealthSpec) -> Probe:
    def probe() -> tuple[bool, str | None]:
        url = f"http://localhost:{spec.port}{spec.endpoint}"
        try:
            body, code = http_request(spec.port, spec.endpoint, timeout=spec.timeout_secs)
        except OSError as e:
            return False, f"Failed to signal {url}: {e}"
        body = body.strip().lower()
        if spec.expected_response and body != spec.expected_response.lower():
            return False, (
                "Response differs from expected response "
                f'(expected "{_shorten(spec.expected_response)}", got "{_shorten(body)}")'
            )
        if spec.expected_response_code and code != spec.expected_response_code:
            return False, (
                "Response code differs from expected response "
                f"(expected {spec.expected_response_code}, got {code})"
            )
        return True, None

    return probe


def shell_probe(spec: HealthSpec, sandbox: Path, env: dict[str, str],
                as_user: Sequence[str] = ()) -> Probe:
    """The check runs as the task's processes do: as its user, in its sandbox."""
    argv = [*as_user, "/bin/bash", "-c", spec.shell_command]

    def probe() -> tuple[bool, str | None]:
        import subprocess

        try:
            result = subprocess.run(
                argv,
                cwd=sandbox,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=spec.timeout_secs,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            return False, f"Health check timed out after {spec.timeout_secs} s"
        except OSError as e:
            return False, f"Health check could not run: {e}"
        if result.returncode != 0:
            return False, f"Command failed with exit code {result.returncode}"
        return True, None

    return probe


class HealthVerdict:
    """Aurora's attempt counting, without threads or time (unit-testable)."""

    def __init__(self, spec: HealthSpec) -> None:
        self.forgiving = math.ceil(spec.initial_interval_secs / spec.interval_secs)
        self.max_failures = spec.max_consecutive_failures
        self.min_successes = spec.min_consecutive_successes
        self.max_attempts = self.forgiving + self.max_failures + self.min_successes
        self.attempts = 0
        self.failures = 0
        self.successes = 0
        self.running = False  # became healthy at least once
        self.healthy = True  # False once the task must fail
        self.reason: str | None = None

    @property
    def status(self) -> HealthState:
        if not self.healthy:
            return HealthState.UNHEALTHY
        return HealthState.HEALTHY if self.running else HealthState.STARTING

    def deadline_passed(self) -> bool:
        if not self.running and self.attempts > self.max_attempts:
            self.reason = "Not enough successful health checks in time."
            self.healthy = False  # after the reason: the runner reads them from another thread
            return True
        return False

    def record(self, ok: bool, reason: str | None) -> None:
        if self.attempts <= self.max_attempts:
            self.attempts += 1
        if ok:
            self.successes += 1
            self.failures = 0
            if not self.running and self.successes >= self.min_successes:
                self.running = True
            return
        self.successes = 0
        if self.attempts <= self.forgiving:
            return
        if not self.running:
            remaining = self.max_attempts - self.attempts
            if remaining > 1 and self.min_successes > remaining:
                self.reason, self.healthy = reason, False
        self.failures += 1
        if self.failures > self.max_failures:
            self.reason, self.healthy = reason, False


class HealthChecker:
    """Runs the probe every ``interval_secs`` on a thread; calls ``notify`` on a change.

    As a status checker it reports the verdict: STARTING, HEALTHY or UNHEALTHY (with the
    probe's reason). The thread wakes the runner itself, so it never needs a poll.
    """

    due = INFINITY

    def __init__(
        self, spec: HealthSpec, probe: Probe, sandbox: Path, notify: Callable[[], None]
    ) -> None:
        self.verdict = HealthVerdict(spec)
        self._spec = spec
        self._probe = probe
        self._snooze = sandbox / ".healthchecksnooze"
        self._notify = notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="health", daemon=True)
        self.snoozed = False

    def start(self, now: float) -> None:
        self._thread.start()

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None:
        if self._stop.is_set():
            return None
        return Status(_VERDICTS[self.verdict.status], self.verdict.reason)

    def stop(self) -> None:
        self._stop.set()

    def check_once(self) -> None:
        before = self.verdict.status
        if not self.verdict.deadline_passed():
            if os.path.isfile(self._snooze):
                self.snoozed = True
                ok, reason = True, None
            else:
                self.snoozed = False
                try:
                    ok, reason = self._probe()
                except Exception as e:
                    ok, reason = False, f"Internal health check error: {e}"
            self.verdict.record(ok, reason)
        if self.verdict.status != before:
            self._notify()

    def _loop(self) -> None:
        while not self._stop.is_set() and self.verdict.healthy:
            self.check_once()
            self._stop.wait(self._spec.interval_secs)
