"""Where a task's files live under a checkpoint root, and small helpers for them.

Files of a task, under ``<checkpoint_root>/<task_id>/``: ``runner.ckpt`` (the checkpoint
stream), ``task.json`` (the bound task, to resume from), ``lock`` (held by the live runner),
``exit/<process>.<run>`` (exit codes written by the process wrapper), ``resources.json``
(the latest resource samples, rewritten in place) and ``runner.log`` (a detached runner's
output).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, NamedTuple


class TaskPaths(NamedTuple):
    """Where a task's files live."""

    root: Path
    task_id: str

    @property
    def dir(self) -> Path:
        return self.root / self.task_id

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
