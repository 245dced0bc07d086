"""Garbage collection of finished tasks' sandboxes and checkpoints, by age and total size.

Only tasks in a terminal state whose runner is gone are collected. Age is measured from the
checkpoint's last change; when the remaining finished tasks still take more than
``max_total_bytes``, the oldest go first.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import checkpoint
from .paths import TaskPaths, disk_usage
from .reader import CheckpointReader


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    kept: list[str] = field(default_factory=list)


def collect_garbage(
    checkpoint_root: str | os.PathLike[str],
    *,
    max_age_secs: float | None = None,
    max_total_bytes: int | None = None,
    keep_sandboxes_outside: bool = False,
    dry_run: bool = False,
    now: float | None = None,
) -> GcReport:
    """Remove finished tasks older than ``max_age_secs``, then the oldest beyond the size cap.

    A task's sandbox is removed with its checkpoint unless ``keep_sandboxes_outside`` is set
    and the sandbox lies outside the task's checkpoint directory.
    """
    root = Path(checkpoint_root)
    reader = CheckpointReader(root)
    now = time.time() if now is None else now
    report = GcReport()
    finished: list[tuple[float, str, int, Path | None]] = []
    for task_id in reader.task_ids():
        view = reader.task(task_id)
        paths = TaskPaths(root, task_id)
        if view is None or not view.is_terminal or checkpoint.is_locked(paths.lock):
            report.kept.append(task_id)
            continue
        sandbox = Path(view.sandbox) if view.sandbox else None
        size = disk_usage(paths.dir)
        if sandbox is not None and sandbox.exists() and paths.dir not in sandbox.parents:
            size += disk_usage(sandbox)
        finished.append((paths.stream.stat().st_mtime, task_id, size, sandbox))
    finished.sort()
    total = sum(size for _, _, size, _ in finished)
    for mtime, task_id, size, sandbox in finished:
        too_old = max_age_secs is not None and now - mtime > max_age_secs
        too_big = max_total_bytes is not None and total > max_total_bytes
        if not (too_old or too_big):
            report.kept.append(task_id)
            continue
        if not dry_run:
            paths = TaskPaths(root, task_id)
            outside = sandbox is not None and paths.dir not in sandbox.parents
            if sandbox is not None and not (outside and keep_sandboxes_outside):
                shutil.rmtree(sandbox, ignore_errors=True)
            shutil.rmtree(paths.dir, ignore_errors=True)
        report.removed.append(task_id)
        report.freed_bytes += size
        total -= size
    return report
