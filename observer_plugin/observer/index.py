"""The tasks under the checkpoint roots, with their views cached.

A task's view (``executor.api.TaskView``) is re-read only when its checkpoint stream changed
(inode, size, mtime); a finished task's view never changes, so it is never read again while
its stream exists. Listing the tasks is one ``scandir`` per root plus a ``stat`` per active
task, which is what keeps the task list fast with a thousand finished tasks. Task ids are
unique across roots; should one appear under two roots, the first root given wins.

Only names found by listing a root are ever joined to it, so a task id from a request can
never name a path of its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from executor.api import CheckpointReader, TaskPaths, TaskView

Stamp = tuple[int, int, int]


@dataclass(frozen=True)
class IndexedTask:
    """A task's latest view and where it lives."""

    root: Path
    view: TaskView
    stamp: Stamp  # of the stream when the view was read

    @property
    def task_id(self) -> str:
        return self.view.task_id

    @property
    def paths(self) -> TaskPaths:
        return TaskPaths(self.root, self.view.task_id)

    @property
    def active(self) -> bool:
        return not self.view.is_terminal


def _stamp(path: Path) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class TaskIndex:
    """Every task under ``roots``, each read again only when its stream changed.

    :param roots: the executor's checkpoint roots on this host (a missing one lists nothing).
    """

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = tuple(roots)
        self._readers = {root: CheckpointReader(root) for root in self.roots}
        self._tasks: dict[str, IndexedTask] = {}
        self._lock = threading.Lock()
        self.replays = 0  # checkpoint streams read so far (what the cache saves)

    def refresh(self) -> list[IndexedTask]:
        """List the roots again and bring every view up to date; every task, unordered."""
        with self._lock:
            found: dict[str, IndexedTask] = {}
            for root in self.roots:
                for name in self._names(root):
                    if name in found:
                        continue
                    task = self._current(root, name, self._tasks.get(name), listed=True)
                    if task is not None:
                        found[name] = task
            self._tasks = found
            return list(found.values())

    def get(self, task_id: str) -> IndexedTask | None:
        """One task, up to date; None when it is not (or no longer) under any root."""
        with self._lock:
            known = self._tasks.get(task_id)
        if known is None:
            # New since the last listing? Only names a listing returns are looked at.
            return next((t for t in self.refresh() if t.task_id == task_id), None)
        with self._lock:
            task = self._current(known.root, task_id, known, listed=False)
            if task is None:
                self._tasks.pop(task_id, None)
            else:
                self._tasks[task_id] = task
            return task

    def _names(self, root: Path) -> list[str]:
        try:
            with os.scandir(root) as entries:
                return [e.name for e in entries if e.is_dir()]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def _current(self, root: Path, name: str, cached: IndexedTask | None, *,
                 listed: bool) -> IndexedTask | None:
        if cached is not None and cached.root == root and not cached.active:
            # Finished: its view is final; only its removal (garbage collection, which takes
            # the task's directory) matters, and a listing that found the directory says it.
            return cached if listed or os.path.exists(cached.paths.stream) else None
        stream = TaskPaths(root, name).stream
        stamp = _stamp(stream)
        if stamp is None:
            return None  # a directory without a stream yet, or a task removed
        if cached is not None and cached.root == root and cached.stamp == stamp:
            return cached
        # Stat first, then read: a record appended in between shows at the next look.
        view = self._readers[root].task(name)
        self.replays += 1
        return None if view is None else IndexedTask(root, view, stamp)
