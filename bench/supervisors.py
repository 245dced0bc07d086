"""The two supervisors the executor benchmark drives side by side, and what they share:
our runner (started as a scheduler starts it) and supervisord (over XML-RPC), the floor
(Python start-up plus a bare Popen), and probes of processes and sessions."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import psutil

from executor.api import CheckpointReader
from executor.core.spec import ProcessSpec, TaskSpec

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
IDLE = "exec sleep 100000"
# Installed packages come with compiled bytecode; this tree runs with
# PYTHONDONTWRITEBYTECODE=1, so give every Python started here a bytecode cache.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pycache-")


# The floor: Python start-up plus a bare Popen of the same command (its pid is printed so
# that the benchmark can stop it).
BARE_POPEN = (
    "import subprocess, sys; "
    "p = subprocess.Popen(['/bin/bash', '-c', sys.argv[1]], start_new_session=True, "
    "stdout=subprocess.DEVNULL); print(p.pid)"
)


def job_json(cmdline: str) -> str:
    """A one-process job as the scheduler hands it over (``executor_config.data``)."""
    from aurora_provider.config.schema import Job, Process, Resources, Task

    task = Task(
        processes=[Process(name="p0", cmdline=cmdline, min_duration=0)],
        resources=Resources(cpu=0.1, ram=1 << 20, disk=1 << 20),
    )
    job = Job(cluster="local", role="bench", environment="devel", name="lat", task=task)
    return str(job.json_dumps())


def wait_path(path: Path, timeout: float = 30.0) -> float:
    """Spin until ``path`` exists; the time it appeared (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while not path.exists():
        if time.perf_counter() > deadline:
            raise TimeoutError(path)
        time.sleep(0.0001)
    return time.perf_counter()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_and_rss(pid: int, window: float) -> tuple[float, float]:
    """(CPU % over the window, RSS MiB at its end) of one process."""
    proc = psutil.Process(pid)
    before = proc.cpu_times()
    time.sleep(window)
    after = proc.cpu_times()
    cpu = max(0.0, (after.user + after.system - before.user - before.system) / window * 100)
    return cpu, proc.memory_info().rss / 2**20


# ------------------------------------------------------------------ our runner
class Runner:
    def __init__(self, work: Path, processes: list[str], name: str = "t") -> None:
        self.root = work / "ck"
        self.task_id = name
        spec = TaskSpec(
            name=name,
            processes=tuple(
                ProcessSpec(name=f"p{i}", cmdline=cmd, min_duration=0)
                for i, cmd in enumerate(processes)
            ),
            finalization_wait=10,
        )
        self.spec_file = work / f"{name}.json"
        self.spec_file.write_text(spec.to_json())
        self.sandbox = work / f"sb-{name}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "executor.runner_main",
                "--task-spec",
                str(self.spec_file),
                "--task-id",
                self.task_id,
                "--checkpoint-root",
                str(self.root),
                "--sandbox",
                str(self.sandbox),
                "--quiet",
                "--sample-interval",
                "60",
            ],
            cwd=ROOT,
            start_new_session=True,
            env=ENV,
        )

    def view(self) -> Any:
        return CheckpointReader(self.root).task(self.task_id)

    def wait_running(self, count: int, timeout: float = 30.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = self.view()
            if v is not None:
                pids = [
                    p.runs[-1].pid for p in v.processes.values() if p.runs[-1].state == "RUNNING"
                ]
                if len(pids) >= count:
                    return [p for p in pids if p is not None]
            time.sleep(0.001)
        raise TimeoutError("processes not running")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


# ------------------------------------------------------------------ supervisord
class Supervisord:
    def __init__(self, work: Path, programs: list[str], autostart: bool = True) -> None:
        self.work = work
        self.port = free_port()
        lines = [
            "[supervisord]", "nodaemon=true", f"logfile={work}/supervisord.log",
            f"pidfile={work}/supervisord.pid", f"childlogdir={work}", "loglevel=info",
            "[inet_http_server]", f"port=127.0.0.1:{self.port}",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        ]  # fmt: skip
        for i, cmd in enumerate(programs):
            lines += [
                f"[program:p{i}]", f"command=/bin/bash -c {json.dumps(cmd)}",
                f"autostart={'true' if autostart else 'false'}", "startsecs=0",
                "stopwaitsecs=1", "autorestart=false", f"directory={work}",
            ]  # fmt: skip
        self.conf = work / "supervisord.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = str(Path(PY).parent / "supervisord")
        self.proc = subprocess.Popen(
            [exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    @property
    def rpc(self) -> Any:
        return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}/RPC2").supervisor

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.rpc.getState()["statename"] == "RUNNING":
                    return
            except OSError:
                pass
            time.sleep(0.005)
        raise TimeoutError("supervisord")

    def pids(self) -> list[int]:
        return [p["pid"] for p in self.rpc.getAllProcessInfo() if p["pid"]]

    def shutdown(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


def gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            pass
    return True


# ------------------------------------------------------------------ measurements


def session_alive(leader: int) -> bool:
    """Whether any process is left in the session ``leader`` led (each run leads one)."""
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getsid(proc.pid) == leader and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except OSError:
            continue
    return False
