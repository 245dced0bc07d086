"""The executor's Python API, for the scheduler's local backend and the observer.

``CheckpointReader`` lists the tasks under a checkpoint root and returns one task's state
as an immutable ``TaskView`` (``logs_listing``: its processes and runs as JSON);
``runner_argv`` is how to start a runner; ``kill_task`` stops a task whether or not its
runner is alive; ``collect_garbage`` removes old sandboxes and checkpoints; ``TaskPaths``
and ``run_log_dir`` say where a task's files and logs are (``XCOM_FILE`` its result, in its
sandbox); ``disk_usage`` what a directory
holds; ``open_inside`` opens a file under a sandbox or log directory without following a
link out of it; ``untraversable`` says which directory a ``TaskUser`` could not pass.
Nothing else of the executor is meant to be imported from outside it.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from aurora_provider.states.executor_task import ExecutorTaskState

from .core.containers import image_of as container_image
from .core.containers import removal_argv as container_removal_argv
from .core.gc import GcReport, collect_garbage
from .core.logs import run_log_dir
from .core.paths import XCOM_FILE, TaskPaths, disk_usage
from .core.reader import CheckpointReader, ProcessRunView, ProcessView, TaskView
from .core.users import TaskUser, task_user, untraversable
from .errors import CheckpointError, ExecutorError, InvalidTask, OutsideSandbox
from .services.announcer import checked_root as serverset_root

__all__ = [
    "XCOM_FILE",
    "CheckpointReader",
    "ExecutorError",
    "GcReport",
    "InvalidTask",
    "OutsideSandbox",
    "ProcessRunView",
    "ProcessView",
    "TaskPaths",
    "TaskUser",
    "TaskView",
    "collect_garbage",
    "container_image",
    "container_removal_argv",
    "disk_usage",
    "kill_task",
    "logs_listing",
    "open_inside",
    "run_log_dir",
    "runner_argv",
    "serverset_root",
    "untraversable",
]


def runner_argv(
    *,
    executor_data: str,
    task_id: str,
    instance: int,
    hostname: str,
    ports: Mapping[str, int],
    sandbox: str,
    checkpoint_root: str,
    announcer_ensemble: str | None = None,
    announcer_zk_path_prefix: str | None = None,
    prebind: bool = False,
    setuid: str | None = None,
    container: Mapping[str, Any] | None = None,
    container_runtime: str | None = None,
) -> list[str]:
    """The command that runs the task in the foreground (spawn it in its own session).

    With ``setuid`` the task's processes run as that Unix user (its role's, as in Aurora),
    checked here: ``InvalidTask`` (one line, naming the way out) when there is no such user,
    ``ExecutorError`` when this process is not root and the user is another.

    With ``prebind`` the job is bound here (raising ``InvalidTask`` if it cannot be) and the
    runner is handed the bound task (``<executor_data>.spec.json``): a process that already
    has the configuration language loaded saves the runner 40-60 ms of importing it.
    """
    if setuid is not None:
        task_user(setuid)
    source = ["--executor-data", str(executor_data)]
    in_container = container is not None and container_runtime is not None
    if prebind or announcer_zk_path_prefix is not None or in_container:
        from .runner_main import spec_from_executor_data
        from .services.announcer import names_own_path, under_root

        spec = spec_from_executor_data(
            Path(executor_data), task_id, instance, dict(ports), hostname, sandbox=Path(sandbox)
        )
        if announcer_zk_path_prefix is not None:
            own = names_own_path(Path(executor_data).read_text())
            spec = under_root(spec, announcer_zk_path_prefix, own_path=own)
        if container is not None and container_runtime is not None:
            from .core.containers import contained

            spec = contained(spec, container_runtime, container, task_id, Path(sandbox))
        spec_path = Path(f"{executor_data}.spec.json")
        spec_path.write_text(spec.to_json())
        source = ["--task-spec", str(spec_path)]
    argv = [
        sys.executable, "-m", "executor.runner_main",
        *source,
        "--task-id", task_id,
        "--instance", str(instance),
        "--hostname", hostname,
        "--sandbox", str(sandbox),
        "--checkpoint-root", str(checkpoint_root),
    ]  # fmt: skip
    for name, port in sorted(ports.items()):
        argv += ["--port", f"{name}={port}"]
    if announcer_ensemble:
        argv += ["--announcer-ensemble", announcer_ensemble]
    if setuid is not None:
        argv += ["--setuid", setuid]
    return argv


def kill_task(
    checkpoint_root: str | os.PathLike[str],
    task_id: str,
    *,
    grace: float = 10.0,
    wait: bool = True,
) -> ExecutorTaskState:
    """Stop a task; its state afterwards (terminal unless the runner is still tearing down).

    A live runner is sent SIGTERM and tears the task down itself (HTTP lifecycle, SIGTERM,
    finalization); with ``wait`` this waits up to ``grace`` s for it. When the runner is
    gone, this process takes the task's lock and kills the process trees itself (SIGTERM,
    SIGKILL after ``grace`` s), recording them KILLED and the task KILLED.
    """
    reader = CheckpointReader(checkpoint_root)
    view = reader.task(task_id)
    if view is None:
        raise CheckpointError(f"{checkpoint_root}: no task {task_id}")
    if view.is_terminal:
        return view.state
    if view.runner_alive and view.runner_pid is not None:
        os.kill(view.runner_pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while wait and time.monotonic() < deadline:
            current = reader.task(task_id)
            if current is None or current.is_terminal or not current.runner_alive:
                break
            time.sleep(0.02)  # the runner's checkpoint is the only news of it
        current = reader.task(task_id)
        if current is not None and (current.is_terminal or current.runner_alive):
            return current.state
    from .core.runner import load_runner

    runner = load_runner(Path(checkpoint_root), task_id, quiet=True)
    return runner.kill(grace)


def logs_listing(task_id: str, sandbox: str | None,
                 processes: Mapping[str, ProcessView]) -> dict[str, Any]:
    """A task's processes and their runs (of a ``TaskView``) as JSON types: what a scheduler
    serves as the task's logs, each run's stdout and stderr under ``run_log_dir``."""
    return {"task_id": task_id, "sandbox": sandbox, "processes": [
        {"name": name, "runs": [
            {"run": r.run, "state": r.state, "return_code": r.return_code,
             "start_time": r.start_time, "stop_time": r.stop_time} for r in proc.runs]}
        for name, proc in sorted(processes.items())]}


def _is_under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def open_inside(base: str | os.PathLike[str], path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` (under ``base``) opened for reading, if it really is a file inside ``base``.

    A task owns its sandbox and may replace any file in it with a symlink (a log with a link
    to /etc/passwd): the real path, every link followed, must stay under the real ``base``,
    and the descriptor actually opened is checked again, so a link swapped in between the
    check and the open is caught too. Only regular files are opened (a FIFO would block the
    reader), without blocking.

    :raises OutsideSandbox: the path leads outside ``base`` or is not a regular file.
    :raises FileNotFoundError: nothing is there.
    """
    real_base = os.path.realpath(base)
    real = os.path.realpath(path)
    if not _is_under(real, real_base):
        raise OutsideSandbox(f"{path}: leads outside {base}")
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW)
    f = os.fdopen(fd, "rb")
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
        if not _is_under(opened, real_base):
            raise OutsideSandbox(f"{path}: leads outside {base}")
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutsideSandbox(f"{path}: not a regular file")
    except BaseException:
        f.close()
        raise
    return f
