"""Starting an executor as a real agent does: its sandbox, its URIs, its environment, its
command in a session of its own, and its exit seen by a waiting thread.

The sandbox is ``<work_dir>/slaves/<agent_id>/frameworks/<fid>/executors/<eid>/runs/
<container_id>`` (with a ``latest`` link), the command runs there with ``stdout`` and
``stderr`` in files, and the environment is the test's own plus what a Mesos agent sets.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tarfile
import threading
import urllib.parse
import uuid as uuidlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil

from tests.mesos_cluster import wire
from tests.mesos_cluster.wire import Json

if TYPE_CHECKING:
    from tests.mesos_cluster.actor import EventStream


@dataclass
class Executor:
    framework_id: str
    info: Json
    container_id: str
    directory: Path
    checkpoint: bool
    state: str = "REGISTERING"  # -> RUNNING -> TERMINATING -> TERMINATED, as Mesos's
    process: subprocess.Popen[bytes] | None = None
    stream: EventStream | None = None  # while subscribed
    queued: dict[str, Json] = field(default_factory=dict)  # tasks not yet delivered
    launched: set[str] = field(default_factory=set)  # task ids delivered
    ever_sent_task: bool = False
    pending_termination: tuple[str, str, str] | None = None  # state, reason, message
    exit_code: int | None = None  # Popen's returncode, set by the waiting thread
    command_task: bool = False  # the agent's stand-in for Mesos's command executor
    killing: bool = False

    @property
    def id(self) -> str:
        return wire.value(self.info["executor_id"])

    @property
    def shutdown_grace_period(self) -> float | None:
        grace = self.info.get("shutdown_grace_period")
        return grace["nanoseconds"] / 1e9 if grace else None


def new_container_id() -> str:
    return str(uuidlib.uuid4())


def make_sandbox(work_dir: str, agent_id: str, framework_id: str, executor_id: str,
                 container_id: str) -> Path:
    runs = (Path(work_dir) / "slaves" / agent_id / "frameworks" / framework_id / "executors"
            / executor_id / "runs")
    sandbox = runs / container_id
    sandbox.mkdir(parents=True, exist_ok=True)
    latest = runs / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(container_id)
    return sandbox


def environment(base: dict[str, str], executor: Executor, agent_id: str, agent_port: int,
                grace_period: float, reregistration_timeout: float,
                recovery_timeout: float) -> dict[str, str]:
    """The executor's environment: the test's, then Mesos's variables, then the
    ExecutorInfo's own ``command.environment``."""
    env = dict(base)
    env.update({
        "MESOS_FRAMEWORK_ID": executor.framework_id,
        "MESOS_EXECUTOR_ID": executor.id,
        "MESOS_DIRECTORY": str(executor.directory),
        "MESOS_SANDBOX": str(executor.directory),
        "MESOS_SLAVE_ID": agent_id,
        "MESOS_SLAVE_PID": f"slave(1)@127.0.0.1:{agent_port}",
        "MESOS_AGENT_ENDPOINT": f"127.0.0.1:{agent_port}",
        "MESOS_CHECKPOINT": "1" if executor.checkpoint else "0",
        "MESOS_HTTP_COMMAND_EXECUTOR": "0",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": wire.duration_text(
            executor.shutdown_grace_period or grace_period),
        "LIBPROCESS_PORT": "0",
    })
    if executor.checkpoint:
        env["MESOS_RECOVERY_TIMEOUT"] = wire.duration_text(recovery_timeout)
        env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = wire.duration_text(reregistration_timeout)
    for variable in executor.info.get("command", {}).get("environment", {}).get(
            "variables", []):
        if variable.get("type", "VALUE") == "VALUE":
            env[variable["name"]] = variable.get("value", "")
    return env


def fetch(uris: list[Json], sandbox: Path) -> str | None:
    """Mesos's fetcher, for local paths, ``file://`` and ``http(s)://``: why it failed, or
    None."""
    for uri in uris:
        source = uri["value"]
        parsed = urllib.parse.urlparse(source)
        name = uri.get("output_file") or os.path.basename(parsed.path) or "download"
        target = sandbox / name
        try:
            if parsed.scheme in ("http", "https"):
                response = httpx.get(source, follow_redirects=True, timeout=60)
                response.raise_for_status()
                target.write_bytes(response.content)
            else:
                shutil.copyfile(parsed.path if parsed.scheme == "file" else source, target)
        except (OSError, httpx.HTTPError) as e:
            return f"Failed to fetch '{source}': {e}"
        if uri.get("executable"):
            target.chmod(0o755)
        elif uri.get("extract", True):
            _extract(target, sandbox)
    return None


def _extract(archive: Path, into: Path) -> None:
    name = archive.name
    if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".txz")):
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
    elif name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(into)


def spawn(command: Json, env: dict[str, str], sandbox: Path) -> subprocess.Popen[bytes]:
    """Run CommandInfo in ``sandbox``, in a new session (its process group is the
    container), with stdout and stderr in the sandbox."""
    with open(sandbox / "stdout", "ab") as stdout, open(sandbox / "stderr", "ab") as stderr:
        if command.get("shell", True):  # CommandInfo.shell defaults to true
            argv, executable = ["/bin/sh", "-c", command.get("value", "")], "/bin/sh"
        else:  # arguments carry argv[0] too, as Mesos's do
            executable = command.get("value", "")
            argv = list(command.get("arguments", [])) or [executable]
        return subprocess.Popen(argv, executable=executable, cwd=sandbox, env=env,
                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                start_new_session=True)


def watch(process: subprocess.Popen[bytes],
          exited: Callable[[int], None]) -> threading.Thread:
    """Call ``exited(returncode)`` from a thread once the process is gone."""
    def wait() -> None:
        exited(process.wait())

    thread = threading.Thread(target=wait, name=f"reaper-{process.pid}", daemon=True)
    thread.start()
    return thread


def kill_container(executor: Executor, exited: bool = False) -> None:
    """Destroy the executor's container: its session, and every process that belongs to it
    though it left the session (a real agent kills the container's cgroup; our executor's
    runner and the task's processes run in sessions of their own)."""
    kill_group(executor.process, exited)
    if executor.process is None:
        return
    for proc in psutil.process_iter(["pid"]):
        if proc.pid != os.getpid() and in_container(proc, executor.directory):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def in_container(proc: psutil.Process, directory: Path) -> bool:
    """What a cgroup would say here: the process was started with the container's
    environment (``MESOS_DIRECTORY``) or works inside its sandbox."""
    try:
        if proc.environ().get("MESOS_DIRECTORY", "").startswith(str(directory)):
            return True
        return Path(proc.cwd()).is_relative_to(directory)
    except (psutil.Error, OSError):
        return False


def kill_group(process: subprocess.Popen[bytes] | None, exited: bool = False) -> None:
    """Destroy the container: every process of the executor's session. Once the executor
    is known to have exited, only right then (``exited``): its group id could be reused."""
    if process is None or (process.returncode is not None and not exited):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_status(returncode: int) -> int:
    """The waitpid() status Mesos reports in FAILURE (exit code << 8, or the signal)."""
    return -returncode if returncode < 0 else returncode << 8


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"Command terminated with signal {name}"
    return f"Command exited with status {returncode}"
