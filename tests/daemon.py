"""The real ``aurora-scheduler`` daemon in a subprocess, on a free port, in its own dirs.

Shared by the scheduler and provider tests and the benchmarks. Runners are detached by
design (they survive a scheduler restart), so they are found and stopped through the work
dir's ``tasks/*/runner.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from aurora_provider.api import RetryPolicy, SchedulerClient
from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster

# Quick timings so the suite runs in seconds; the defaults are Aurora's minutes.
FAST_FLAGS = [
    "--round-interval", "0.05", "--flapping-threshold", "1.0", "--backoff-initial", "0.3",
    "--backoff-max", "0.6",
]
# The local backend's one agent, large and named alike on every machine (a Mesos daemon
# refuses these: its agents are the cluster's).
LOCAL_FLAGS = ["--local-cpu", "64", "--local-ram-mb", "65536", "--local-disk-mb", "65536",
               "--local-hostname", "localhost"]

# The suite runs as root (CI) with roles (www, batch...) that are no Unix users: tasks run
# as the scheduler's user, unless a test asks for setuid (``Daemon(..., setuid=True)``).
NOSETUID_FLAGS = ["--nosetuid"]

# Each test daemon's observer on a port of its own (the default 1338 would clash); a test's
# own --observer-listen comes later on the command line, and wins.
OBSERVER_FLAGS = ["--observer-listen", "127.0.0.1:0"]


def executor_command(root: Path) -> str:
    """How the test Mesos cluster's agents start our executor (the module, so no reinstall
    is needed), with its checkpoints under ``root``."""
    return shlex.join([sys.executable, "-m", "executor.mesos", "--checkpoint-root",
                       str(root / "checkpoints"), *NOSETUID_FLAGS])


def mesos_flags(cluster: MesosCluster, root: Path) -> list[str]:
    """The daemon's flags for the Mesos backend on ``cluster``, with quick timings."""
    return ["--backend", "mesos", "--mesos-master", cluster.master_url,
            "--executor-command", executor_command(root), "--offer-filter", "0.5",
            "--offer-hold", "0.2", "--kill-retry", "3"]


@contextlib.contextmanager
def daemon_on(cluster: MesosCluster, root: Path, *extra: str) -> Iterator[Daemon]:
    """A daemon on the test Mesos ``cluster``, its dirs under ``root``: started, then
    killed (its tasks stay with the cluster, which stops them)."""
    daemon = Daemon(root / "scheduler", root / "home", [*mesos_flags(cluster, root), *extra])
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop(signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    def __init__(self, work_dir: Path, home: Path, extra: list[str], *,
                 setuid: bool = False) -> None:
        """:param setuid: leave out --nosetuid (a root daemon runs tasks as their role)."""
        self.work_dir = work_dir
        self.home = home
        self.extra = extra
        self.setuid = setuid
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = work_dir / "scheduler.log"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "AURORA_HOME": str(self.home)}

    def start(self, *, wait: bool = True) -> None:
        """Start the daemon; with ``wait``, until its ``/health`` answers 200."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        on_mesos = any(a == "--backend" and b == "mesos"
                       for a, b in zip(self.extra, self.extra[1:], strict=False))
        local = [] if on_mesos else [
            *LOCAL_FLAGS, *OBSERVER_FLAGS, *([] if self.setuid else NOSETUID_FLAGS)]
        argv = [sys.executable, "-m", "aurora_provider.framework.main",
                "--listen", f"127.0.0.1:{self.port}", "--work-dir", str(self.work_dir),
                *FAST_FLAGS, *local, *self.extra]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                         env=self.env)
        if wait:
            eventually(self._healthy, timeout=30, interval=0.1,
                       what=f"scheduler on {self.url}")

    def refused_start(self) -> tuple[int, list[str]]:
        """Start a daemon that is expected to stop at once: its exit code and log lines."""
        self.start(wait=False)
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        return code, self.log.read_text().strip().splitlines()

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

    def as_devcluster(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point the CLIs' ``devcluster`` at this daemon (a clusters.json of their own)."""
        clusters = tmp_path / "clusters.json"
        clusters.write_text(json.dumps([{"name": "devcluster", "scheduler_uri": self.url,
                                         "auth_token_file": str(self.home / "token")}]))
        monkeypatch.setenv("AURORA_CLUSTERS", str(clusters))
        monkeypatch.setenv("AURORA_HOME", str(tmp_path / "client-home"))

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
        """Kill every runner of this work dir and what it started.

        Runners are found through their ``runner.json``, and also by the work dir in their
        command line: a daemon killed between spawning a runner and writing its record
        leaves a runner that only the second way finds.
        """
        # A runner that sees its process killed first restarts it before its own SIGKILL
        # lands: a second pass kills what the first one made.
        for _ in range(3):
            if not self._kill_runners_once():
                return

    def _kill_runners_once(self) -> bool:
        """One pass of ``kill_runners``; whether it found anything to kill."""
        roots = set(self.runner_pids().values())
        marker = str(self.work_dir)
        for proc in psutil.process_iter(["pid", "cmdline"]):
            if any(marker in part for part in proc.info["cmdline"] or ()):
                roots.add(proc.info["pid"])
        roots.discard(os.getpid())
        procs: list[psutil.Process] = []
        for pid in roots:
            try:
                root = psutil.Process(pid)
                procs += [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=5)
        return bool(procs)  # something was killed: look again
