"""Graceful shutdown over HTTP before signals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from executor.core.binding import free_ports
from executor.core.spec import LifecycleSpec
from tests.eventually import eventually

from .conftest import Env
from .helpers import proc, task, view

pytestmark = pytest.mark.process

SERVICE = Path(__file__).with_name("service.py")


def _run_and_kill(env: Env, *flags: str, wait: float = 5, real_clock: bool = False) -> list[str]:
    port = free_ports(["health"])["health"]
    spec = task(
        proc("svc", f"exec {sys.executable} {SERVICE} {port} ok {' '.join(flags)}"),
        lifecycle=LifecycleSpec(
            port=port, graceful_shutdown_wait_secs=wait, shutdown_wait_secs=wait
        ),
    )
    # The skipping clock makes waits in which nothing happens free; a service that does
    # quit needs real time to do so.
    runner = env.runner(spec, **({"clock": None} if real_clock else {}))  # type: ignore[arg-type]
    thread = env.run_in_thread(runner)
    eventually(lambda: (env.sandbox / "requests.log").exists() or _get(port), what="service up")
    runner.stop()
    thread.join(30)
    assert not thread.is_alive()
    return (env.sandbox / "requests.log").read_text().splitlines()


def _get(port: int) -> bool:
    import urllib.request

    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=0.5).close()
    except OSError:
        return False
    return True


def test_quitquitquit_lets_the_service_exit_on_its_own(env: Env) -> None:
    requests = _run_and_kill(env, real_clock=True)
    assert "POST /quitquitquit" in requests and "POST /abortabortabort" not in requests
    v = view(env.root)
    assert v.state == "KILLED"
    run = v.processes["svc"].runs[0]
    assert (run.state, run.return_code) == ("SUCCESS", 0)  # it left by itself, no signal


def test_escalation_to_abortabortabort_then_sigterm(env: Env) -> None:
    requests = _run_and_kill(env, "--ignore-quit")
    assert requests[-2:] == ["POST /quitquitquit", "POST /abortabortabort"]
    run = view(env.root).processes["svc"].runs[0]
    assert run.state == "KILLED" and run.reason == "killed by SIGTERM"
