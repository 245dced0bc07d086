"""Fixtures of the scheduler tests: the real daemon (``tests/daemon.py``) per test or module,
and one-process jobs through the real configuration loader. Every daemon and every runner
it started is stopped at teardown."""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.config import job_to_wire, load
from tests.daemon import Daemon


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def make(*extra: str, name: str = "sched") -> Daemon:
        daemon = Daemon(tmp_path / name, tmp_path / f"{name}-home", list(extra))
        daemon.start()
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.stop(signal.SIGKILL)
        daemon.kill_runners()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon shared by a module's tests (each test uses its own job names)."""
    root = tmp_path_factory.mktemp("daemon")
    d = Daemon(root / "work", root / "home", [])
    d.start()
    yield d
    d.stop(signal.SIGKILL)
    d.kill_runners()


@pytest.fixture(scope="module")
def ops_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon with two local agents (so a drain has somewhere to move tasks), shared by
    a module's tests."""
    root = tmp_path_factory.mktemp("ops")
    d = Daemon(root / "work", root / "home", ["--local-agents", "2"])
    d.start()
    yield d
    d.stop(signal.SIGKILL)
    d.kill_runners()


@pytest.fixture
def cli(ops_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    """``ops_daemon``, as the CLIs' ``devcluster``."""
    ops_daemon.as_devcluster(tmp_path, monkeypatch)
    return ops_daemon


def job_wire(tmp_path: Path, name: str, cmdline: str, *, service: bool = False,
             instances: int = 1, max_task_failures: int = 1, role: str = "www",
             extra: str = "", ports: bool = False) -> dict[str, Any]:
    """The wire form of a one-process job, through the real configuration loader."""
    cmd = cmdline if not ports else cmdline + " # {{thermos.ports[http]}}"
    text = textwrap.dedent(f"""
        proc = Process(name='main', cmdline={cmd!r}, min_duration=0)
        task = Task(processes=[proc], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
        jobs = [Job(cluster='devcluster', role={role!r}, environment='test', name={name!r},
                    task=task, instances={instances}, service={service},
                    max_task_failures={max_task_failures} {extra})]
    """)
    path = tmp_path / f"{name}.aurora"
    path.write_text(text)
    config = load(str(path))
    return job_to_wire(config.pick(f"devcluster/{role}/test/{name}"))
