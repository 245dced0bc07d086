"""The real ``aurora-scheduler`` daemon in a subprocess, on a free port, in tmp_path.

Every daemon and every runner it started is stopped at teardown (runners are detached by
design, so they are found through the work dir's ``tasks/*/runner.json``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from aurora_provider.api import RetryPolicy, SchedulerClient
from aurora_provider.config import job_to_wire, load

# Quick timings so the suite runs in seconds; the defaults are Aurora's minutes.
FAST_FLAGS = [
    "--round-interval", "0.05", "--flapping-threshold", "1.0", "--backoff-initial", "0.3",
    "--backoff-max", "0.6", "--local-cpu", "64", "--local-ram-mb", "65536",
    "--local-disk-mb", "65536", "--local-hostname", "localhost",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1,
             what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (no timing is asserted)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(interval)


class Daemon:
    def __init__(self, work_dir: Path, home: Path, extra: list[str]) -> None:
        self.work_dir = work_dir
        self.home = home
        self.extra = extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = work_dir / "scheduler.log"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "AURORA_HOME": str(self.home)}

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "aurora_provider.framework.main",
                "--listen", f"127.0.0.1:{self.port}", "--work-dir", str(self.work_dir),
                *FAST_FLAGS, *self.extra]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                         env=self.env)
        wait_for(self._healthy, timeout=30, what=f"scheduler on {self.url}")

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"scheduler exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def token(self) -> str:
        return (self.home / "token").read_text().strip()

    def client(self, token: str | None = None) -> SchedulerClient:
        return SchedulerClient(self.url, token=token or self.token(),
                               retry=RetryPolicy(attempts=3, initial=0.1))

    def runner_pids(self) -> dict[str, int]:
        pids = {}
        for record in (self.work_dir / "tasks").glob("*/runner.json"):
            pids[record.parent.name] = int(json.loads(record.read_text())["pid"])
        return pids

    def kill_runners(self) -> None:
        procs: list[psutil.Process] = []
        for pid in self.runner_pids().values():
            try:
                root = psutil.Process(pid)
                procs += [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=5)


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
