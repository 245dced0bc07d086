"""Small builders shared by the executor's tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from executor.api import CheckpointReader, TaskView
from executor.core.spec import ProcessSpec, TaskSpec
from tests.eventually import eventually


def proc(name: str, cmdline: str, **kw: Any) -> ProcessSpec:
    kw.setdefault("min_duration", 0)
    return ProcessSpec(name=name, cmdline=cmdline, **kw)


def task(*processes: ProcessSpec, **kw: Any) -> TaskSpec:
    return TaskSpec(name="test", processes=tuple(processes), **kw)


def view(root: Path, task_id: str = "t1") -> TaskView:
    v = CheckpointReader(root).task(task_id)
    assert v is not None
    return v


def health_of(root: Path, task_id: str = "t1") -> str | None:
    v = CheckpointReader(root).task(task_id)
    return None if v is None else v.health


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def start_runner(
    root: Path, sandbox: Path, spec: TaskSpec | None = None, task_id: str = "t1", *extra: str
) -> Any:
    """A runner as its own process (the way schedulers spawn it); resumes if no spec."""
    import subprocess
    import sys

    argv = [
        sys.executable,
        "-m",
        "executor.runner_main",
        "--task-id",
        task_id,
        "--checkpoint-root",
        str(root),
        "--sandbox",
        str(sandbox),
        "--quiet",
        *extra,
    ]
    if spec is None:
        argv.append("--resume")
    else:
        root.mkdir(parents=True, exist_ok=True)
        spec_file = root.parent / f"{task_id}.spec.json"
        spec_file.write_text(spec.to_json())
        argv += ["--task-spec", str(spec_file)]
    return subprocess.Popen(argv, start_new_session=True, stderr=subprocess.PIPE, text=True)


def running_pid(root: Path, process: str, run: int = 0) -> int | None:
    v = CheckpointReader(root).task("t1")
    if v is None or process not in v.processes:
        return None
    runs = v.processes[process].runs
    if len(runs) > run and runs[run].state == "RUNNING":
        return runs[run].pid
    return None


def wait_running(root: Path, process: str, run: int = 0) -> int:
    """The pid of ``process``'s run once its checkpoint says RUNNING."""
    pid = eventually(lambda: running_pid(root, process, run), what=f"{process} running")
    assert pid is not None  # eventually returns a truthy value
    return pid
