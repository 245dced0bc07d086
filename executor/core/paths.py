"""Where a task's files live under a checkpoint root, and small helpers for them.

Files of a task, under ``<checkpoint_root>/<task_id>/``: ``runner.ckpt`` (the checkpoint
stream), ``task.json`` (the bound task, to resume from), ``lock`` (held by the live runner),
``exit/<process>.<run>`` (exit codes written by the process wrapper), ``resources.json``
(the latest resource samples, rewritten in place) and ``runner.log`` (a detached runner's
output).

In the task's sandbox, ``.aurora/xcom.json`` is where its processes may leave a JSON result
(``$AURORA_XCOM_FILE``, ``{{thermos.xcom}}``) for the Airflow task that ran the job.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import InvalidTask

XCOM_FILE = ".aurora/xcom.json"  # relative to the sandbox


def xcom_path(sandbox: Path | None) -> str:
    """The task's result file; relative (to the processes' working directory, the sandbox)
    when the sandbox is not known yet (``thermos inspect``)."""
    return XCOM_FILE if sandbox is None else str(Path(sandbox) / XCOM_FILE)


def check_task_id(task_id: str) -> str:
    """``task_id`` when it can name one directory under the checkpoint root; a task id that
    would reach elsewhere (``a/b``, ``..``) is refused before anything touches the disk."""
    if task_id in ("", ".", "..") or "/" in task_id or "\0" in task_id:
        raise InvalidTask(f"task id {task_id!r} cannot name a directory: it must be non-empty, "
                          "not '.' or '..', without '/' or NUL")
    return task_id


class TaskPaths(NamedTuple):
    """Where a task's files live."""

    root: Path
    task_id: str

    @property
    def dir(self) -> Path:
        return self.root / check_task_id(self.task_id)

    @property
    def stream(self) -> Path:
        return self.dir / "runner.ckpt"

    @property
    def task_json(self) -> Path:
        return self.dir / "task.json"

    @property
    def lock(self) -> Path:
        return self.dir / "lock"

    @property
    def resources(self) -> Path:
        return self.dir / "resources.json"

    @property
    def runner_log(self) -> Path:
        return self.dir / "runner.log"

    def exit_file(self, process: str, run: int) -> Path:
        return self.dir / "exit" / f"{process}.{run}"


def write_json_atomic(path: Path, value: Any) -> None:
    """Replace ``path`` with ``value`` as JSON; a reader sees the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, sort_keys=True))
    os.replace(tmp, path)


def disk_usage(path: Path) -> int:
    """Bytes used under ``path`` (not following symlinks)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total
