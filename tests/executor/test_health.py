"""Health checks: Aurora's counting, and HTTP/shell probes against real services."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from executor.core.binding import free_ports
from executor.core.spec import HealthSpec
from executor.services.health import HealthChecker, HealthVerdict, http_probe, shell_probe
from tests.eventually import eventually

from .conftest import Env
from .helpers import health_of, proc, task, view


def spec(**kw: object) -> HealthSpec:
    base: dict[str, object] = {
        "kind": "http",
        "initial_interval_secs": 0.0,
        "interval_secs": 0.05,
        "timeout_secs": 1.0,
    }
    base.update(kw)
    return HealthSpec(**base)  # type: ignore[arg-type]


@pytest.mark.unit
def test_failures_in_the_grace_attempts_are_ignored() -> None:
    v = HealthVerdict(spec(initial_interval_secs=20, interval_secs=10))  # 2 forgiving attempts
    v.record(False, "no")
    v.record(False, "no")
    assert v.status == "starting"
    v.record(True, None)
    assert v.status == "healthy"


@pytest.mark.unit
def test_unhealthy_past_max_consecutive_failures() -> None:
    v = HealthVerdict(spec(max_consecutive_failures=1))
    v.record(True, None)
    v.record(False, "boom")
    assert v.status == "healthy"
    v.record(False, "boom")
    assert v.status == "unhealthy" and v.reason == "boom"


@pytest.mark.unit
def test_min_consecutive_successes_and_the_attempt_deadline() -> None:
    v = HealthVerdict(spec(min_consecutive_successes=2, max_consecutive_failures=5))
    for _ in range(3):
        v.record(True, None)
        v.record(False, "flap")
    assert v.status == "starting"
    while not v.deadline_passed():
        v.record(True, None)
        v.record(False, "flap")
    assert v.status == "unhealthy"
    assert v.reason == "Not enough successful health checks in time."


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code, body = self.server.answers[self.path]  # type: ignore[attr-defined]
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    server.answers = {  # type: ignore[attr-defined]
        "/health": (200, "OK\n"),
        "/bad": (200, "nope"),
        "/err": (500, "ok"),
        "/teapot": (418, ""),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.process
def test_http_probe_outcomes(http_server: HTTPServer) -> None:
    port = http_server.server_address[1]
    assert http_probe(spec(port=port))() == (True, None)  # case-insensitive, stripped
    ok, reason = http_probe(spec(port=port, endpoint="/bad"))()
    assert (
        not ok and reason == 'Response differs from expected response (expected "ok", got "nope")'
    )
    assert not http_probe(spec(port=port, endpoint="/err"))()[0]  # error bodies are dropped
    probe = http_probe(
        spec(port=port, endpoint="/teapot", expected_response="", expected_response_code=200)
    )
    assert probe() == (
        False,
        "Response code differs from expected response (expected 200, got 418)",
    )
    assert http_probe(spec(port=port, endpoint="/err", expected_response=""))()[0]
    closed = free_ports(["x"])["x"]
    ok, reason = http_probe(spec(port=closed))()
    assert not ok and reason is not None and reason.startswith("Failed to signal")


@pytest.mark.process
def test_shell_probe_and_timeout(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    assert shell_probe(spec(kind="shell", shell_command="true"), tmp_path, env)() == (True, None)
    assert shell_probe(spec(kind="shell", shell_command="exit 3"), tmp_path, env)() == (
        False,
        "Command failed with exit code 3",
    )
    slow = spec(kind="shell", shell_command="sleep 5", timeout_secs=0.1)
    assert shell_probe(slow, tmp_path, env)() == (False, "Health check timed out after 0.1 s")


@pytest.mark.unit
def test_snooze_file_skips_checks(tmp_path: Path) -> None:
    checker = HealthChecker(spec(), lambda: (False, "down"), tmp_path, lambda: None)
    (tmp_path / ".healthchecksnooze").touch()
    for _ in range(5):
        checker.check_once()
    assert checker.snoozed and checker.verdict.status == "healthy"


def _task(port: int, endpoint: str) -> object:
    """A task whose health endpoint is the already running ``http_server`` (no start-up race)."""
    return task(
        proc("svc", "sleep 300"),
        health=spec(port=port, endpoint=endpoint, initial_interval_secs=0.1, interval_secs=0.05),
        finalization_wait=5,
    )


@pytest.mark.process
def test_a_healthy_task_is_reported_healthy(env: Env, http_server: HTTPServer) -> None:
    runner = env.runner(_task(http_server.server_address[1], "/health"), clock=None)  # type: ignore[arg-type]
    thread = env.run_in_thread(runner)
    eventually(lambda: health_of(env.root) == "healthy", what="healthy")
    runner.stop()
    thread.join(20)
    assert view(env.root).state == "KILLED"


@pytest.mark.process
def test_an_unhealthy_task_fails_with_the_reason(env: Env, http_server: HTTPServer) -> None:
    runner = env.runner(_task(http_server.server_address[1], "/bad"), clock=None)  # type: ignore[arg-type]
    assert runner.run().value == "FAILED"
    v = view(env.root)
    assert v.health == "unhealthy"
    assert v.failure_reason == (
        'Failed health check! Response differs from expected response (expected "ok", got "nope")'
    )
    assert v.processes["svc"].runs[0].state == "KILLED"
