"""The demo as a newcomer runs it: interrupted while its DAG run is under way (with a job
created by hand), then started again with ``--exit-when-ready``, on free ports with its state
in tmp. Each run must stop every job it had and leave no process behind, and the second must
not resume the run the first left half done."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.eventually import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CANARY = "devcluster/www-data/test/canary_web"


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


class DemoRun:
    """``scripts/demo.py`` in its own session, its output collected line by line."""

    def __init__(self, tmp: Path, *flags: str) -> None:
        scheduler, airflow, observer = free_ports(3)
        self.state = tmp / "state"
        self.env = {**os.environ, "AURORA_HOME": str(tmp / "home")}
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "demo.py"), "--scheduler-port",
             str(scheduler), "--airflow-port", str(airflow), "--observer-port", str(observer),
             "--state-dir", str(self.state), *flags],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str) -> None:
        eventually(lambda: text in self.output or self.proc.poll() is not None,
                   timeout=240, interval=0.2, what=text)
        assert text in self.output, self.output

    def finish(self, timeout: float = 240) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:  # a hung demo: Ctrl-C, then nothing polite
                os.killpg(self.proc.pid, signal.SIGINT)
                try:
                    self.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
            self.reader.join(timeout=10)
        return rc


def processes_in(tmp: Path) -> list[str]:
    """Processes whose working directory or command line is under ``tmp``."""
    found = []
    for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
        where = [proc.info["cwd"] or "", *(proc.info["cmdline"] or [])]
        if any(w.startswith(str(tmp)) for w in where):
            found.append(f"{proc.pid}: {' '.join(proc.info['cmdline'] or [])}")
    return found


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    left = processes_in(tmp_path)
    for line in left:  # stopped here so that a failing test leaves nothing either
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
    assert not left, f"the demo left processes running: {left}"


def test_interrupted_then_ready(tmp: Path) -> None:
    first = DemoRun(tmp)
    first.wait_for_line("aurora-scheduler is up")
    create = subprocess.run(
        [str(BIN / "aurora"), "job", "create", CANARY,
         str(ROOT / "dags_examples" / "canary_web.aurora"), "--bind", "version=1"],
        env={**first.env, "AURORA_CLUSTERS": str(first.state / "clusters.json")},
        capture_output=True, text=True, check=False)
    assert create.returncode == 0, create.stderr
    first.wait_for_line("triggered aurora_deploy_service")
    os.killpg(first.proc.pid, signal.SIGINT)  # Ctrl-C while the DAG run is under way
    assert first.finish() == 130, first.output
    assert f"stopped {CANARY}: its tasks are terminal" in first.output
    assert "marked the DAG run aurora_deploy_service" in first.output
    assert "no runner or task process is left" in first.output, first.output
    assert not processes_in(tmp)

    second = DemoRun(tmp, "--exit-when-ready")
    assert second.finish() == 0, second.output
    out = second.output
    assert "left unfinished by an earlier demo" not in out, out
    assert "succeeded: devcluster/www-data/prod/hello is RUNNING" in out
    assert "leads to /aurora/jobs/devcluster/www-data/prod/hello, which answers 200" in out
    assert "/plugin/aurora" in out and "STILL RUNNING" not in out
    # Not on the clients' default port: the hint to point them at it comes before the command.
    assert -1 < out.find("export AURORA_CLUSTERS=") < out.find(".venv/bin/aurora job status"), out
    assert "no runner or task process is left" in out
