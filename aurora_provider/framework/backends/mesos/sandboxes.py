"""Reading a task's logs from its Mesos sandbox, through the agent's files API.

A Mesos agent serves the sandboxes it keeps over HTTP: ``/files/read?path=&offset=&length=``
(``offset=-1`` answers the file's size) and ``/files/browse?path=``. The task's sandbox is
the executor's directory, which the agent's ``/state`` names; in it the executor keeps
``task_logs.json`` (the task's processes and their runs, rewritten as they change) and the
runner's logs under ``sandbox/.logs/<process>/<run>/<stream>``. Agents are found by the
``url`` of their offers, or else in the master's ``/master/state``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import httpx

from aurora_provider.framework.backends.base import LogRead, XcomRead
from executor.api import XCOM_FILE

log = logging.getLogger(__name__)

# Where the executor keeps what the scheduler's log API serves, relative to its directory.
TASK_LOGS_FILE = "task_logs.json"
LOG_DIR = "sandbox/.logs"
RESULT_FILE = f"sandbox/{XCOM_FILE}"


def agent_base(url: dict[str, Any] | None) -> str | None:
    """``http://ip:port`` of an offer's agent ``url`` (a v1 ``URL``)."""
    if not url:
        return None
    address = url.get("address") or {}
    host = address.get("ip") or address.get("hostname")
    port = address.get("port")
    if not host or not port:
        return None
    return f"{url.get('scheme') or 'http'}://{host}:{port}"


def executor_id(task_id: str) -> str:
    """One executor per task, named after it (as Aurora's Thermos)."""
    return f"thermos-{task_id}"


class SandboxLogs:
    """The task logs of tasks on Mesos agents (the backend's ``LogSource``)."""

    def __init__(self, master: Callable[[], str | None], timeout: float = 5.0) -> None:
        self._master = master
        self._client = httpx.Client(timeout=timeout)
        self._agents: dict[str, str] = {}  # agent id -> base URL
        self._directories: dict[str, tuple[str, str]] = {}  # task id -> (agent, directory)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def learn_agent(self, agent_id: str, url: dict[str, Any] | None) -> None:
        base = agent_base(url)
        if base is not None:
            with self._lock:
                self._agents[agent_id] = base

    def task_logs(self, task_id: str, agent_id: str | None) -> dict[str, Any] | None:
        where = self._directory(task_id, agent_id)
        if where is None:
            return None
        base, directory = where
        text = self._read(base, f"{directory}/{TASK_LOGS_FILE}", 0, 4 * 2**20)
        if text is None:
            return {"task_id": task_id, "sandbox": f"{directory}/sandbox", "processes": []}
        try:
            listing: dict[str, Any] = json.loads(text)
        except ValueError:
            return {"task_id": task_id, "sandbox": f"{directory}/sandbox", "processes": []}
        return listing

    def task_log(self, task_id: str, agent_id: str | None, process: str, run: int,
                 stream: str, tail_bytes: int) -> str | None:
        found = self._sized_log(task_id, agent_id, process, run, stream)
        if found is None:
            return None
        base, path, size = found
        start = max(0, size - tail_bytes)
        return self._read(base, path, start, size - start)

    def read_task_log(self, task_id: str, agent_id: str | None, process: str, run: int,
                      stream: str, offset: int, limit: int) -> LogRead | None:
        found = self._sized_log(task_id, agent_id, process, run, stream)
        if found is None:
            return None
        base, path, size = found
        if offset >= size:
            return LogRead(offset, offset, size, b"")
        # Exactly what the file holds already: the agent answers all of it, so the next
        # read starts after it even where the agent's text replaced bytes it could not decode.
        length = min(limit, size - offset)
        text = self._read(base, path, offset, length)
        if text is None:
            return None
        return LogRead(offset, offset + length, size, text.encode())

    def read_xcom(self, task_id: str, agent_id: str | None, limit: int) -> XcomRead | None:
        where = self._directory(task_id, agent_id)
        if where is None:
            return None
        base, directory = where
        path = f"{directory}/{RESULT_FILE}"
        size = self._size(base, path)
        if size is None:
            return XcomRead(None, b"")
        text = self._read(base, path, 0, min(size, limit)) if size else ""
        return XcomRead(size, (text or "").encode())

    def _sized_log(self, task_id: str, agent_id: str | None, process: str, run: int,
                   stream: str) -> tuple[str, str, int] | None:
        """The agent, path and size of one run's stream, or None when it is not there."""
        where = self._log_path(task_id, agent_id, process, run, stream)
        if where is None:
            return None
        base, path = where
        size = self._size(base, path)
        return None if size is None else (base, path, size)

    def _log_path(self, task_id: str, agent_id: str | None, process: str, run: int,
                  stream: str) -> tuple[str, str] | None:
        """The agent and path of one run's stream, or None for an unknown task or a process
        name that would lead out of the log folder."""
        where = self._directory(task_id, agent_id)
        if where is None or "/" in process or process in ("", ".", ".."):
            return None
        base, directory = where
        return base, f"{directory}/{LOG_DIR}/{process}/{run}/{stream}"

    # -- the agent's HTTP API -----------------------------------------------------------------

    def _get(self, url: str, **params: Any) -> Any:
        try:
            response = self._client.get(url, params=params)
        except httpx.HTTPError as e:
            log.info("cannot read %s: %s", url, e)
            return None
        if response.status_code != 200:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _size(self, base: str, path: str) -> int | None:
        answer = self._get(f"{base}/files/read", path=path, offset=-1)
        return int(answer["offset"]) if isinstance(answer, dict) and "offset" in answer else None

    def _read(self, base: str, path: str, offset: int, length: int) -> str | None:
        answer = self._get(f"{base}/files/read", path=path, offset=offset, length=length)
        if not isinstance(answer, dict) or "data" not in answer:
            return None
        return str(answer["data"])

    def _agent(self, agent_id: str) -> str | None:
        with self._lock:
            known = self._agents.get(agent_id)
        if known is not None:
            return known
        master = self._master()
        state = self._get(f"http://{master}/master/state") if master else None
        for agent in (state or {}).get("slaves", []) if isinstance(state, dict) else []:
            pid = str(agent.get("pid", ""))  # slave(1)@ip:port
            if agent.get("id") == agent_id and "@" in pid:
                base = f"http://{pid.split('@', 1)[1]}"
                with self._lock:
                    self._agents[agent_id] = base
                return base
        return None

    def _directory(self, task_id: str, agent_id: str | None) -> tuple[str, str] | None:
        with self._lock:
            known = self._directories.get(task_id)
        if known is not None:
            return known
        base = self._agent(agent_id) if agent_id else None
        if base is None:
            return None
        state = self._get(f"{base}/state")
        if not isinstance(state, dict):
            return None
        wanted = executor_id(task_id)
        for framework in [*state.get("frameworks", []), *state.get("completed_frameworks", [])]:
            for executor in [*framework.get("executors", []),
                             *framework.get("completed_executors", [])]:
                if executor.get("id") == wanted and executor.get("directory"):
                    found = (base, str(executor["directory"]))
                    with self._lock:
                        self._directories[task_id] = found
                    return found
        return None
