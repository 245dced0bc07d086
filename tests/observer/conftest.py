"""Fixtures of the observer's tests: real tasks (runners started through ``executor.api``)
and the observer's app served by uvicorn on 127.0.0.1 in a thread."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from aurora_provider.config.schema import Job, Process, Resources, Task
from executor.api import CheckpointReader, kill_task, runner_argv
from observer_plugin.observer.app import create_app
from observer_plugin.observer.service import Observer, Settings
from tests.eventually import eventually


class Served:
    """An app served on a free port of 127.0.0.1 (lifespan included) until ``stop()``."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)  # fmt: skip
        self.thread.start()
        eventually(lambda: self.server.started, what="the observer serving")
        self.client = httpx.Client(base_url=self.url, timeout=30, follow_redirects=True)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def raw(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` exactly as given (httpx may normalise ``..`` and ``//``)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


class Tasks:
    """Real tasks under one checkpoint root, each a runner process of its own."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.root = tmp_path / "checkpoints"
        self.runners: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, task_id: str, *processes: tuple[str, str], job: str = "web",
              instance: int = 0) -> Path:  # fmt: skip
        """Run ``processes`` (name, command line) as task ``task_id``; its sandbox."""
        spec = Job(cluster="local", role="me", environment="devel", name=job,
                   task=Task(processes=[Process(name=n, cmdline=c, min_duration=0)
                                        for n, c in processes],
                             resources=Resources(cpu=0.1, ram=1 << 26, disk=1 << 26)))  # fmt: skip
        data = self.tmp / f"{task_id}.json"
        data.write_text(spec.json_dumps())
        sandbox = self.tmp / "sandboxes" / task_id
        argv = runner_argv(executor_data=str(data), task_id=task_id, instance=instance,
                           hostname="localhost", ports={}, sandbox=str(sandbox),
                           checkpoint_root=str(self.root))  # fmt: skip
        self.runners[task_id] = subprocess.Popen(argv, start_new_session=True,
                                                 stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL)  # fmt: skip
        return sandbox

    def wait_state(self, task_id: str, *states: str) -> None:
        def reached() -> bool:
            view = CheckpointReader(self.root).task(task_id)
            return view is not None and view.state in states
        eventually(reached, what=f"task {task_id} {'/'.join(states)}")

    def wait_running(self, task_id: str, process: str) -> int:
        def pid() -> int | None:
            view = CheckpointReader(self.root).task(task_id)
            proc = view.processes.get(process) if view else None
            last = proc.runs[-1] if proc and proc.runs else None
            return last.pid if last is not None and last.state == "RUNNING" else None
        found = eventually(pid, what=f"{task_id}/{process} running")
        assert found is not None
        return found

    def stop(self) -> None:
        for task_id, runner in self.runners.items():
            if runner.poll() is None:
                with contextlib.suppress(Exception):
                    kill_task(self.root, task_id, grace=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                runner.wait(30)
            if runner.poll() is None:
                runner.kill()
                runner.wait(10)


@pytest.fixture
def tasks(tmp_path: Path) -> Iterator[Tasks]:
    t = Tasks(tmp_path)
    yield t
    t.stop()


@pytest.fixture
def observer(tasks: Tasks) -> Iterator[Served]:
    """The observer of ``tasks``'s root, sampling every 0.2 s."""
    settings = Settings(roots=(tasks.root,), sample_interval=0.2, disk_interval=0.5, history=50)
    served = Served(create_app(Observer(settings)))
    yield served
    served.stop()
