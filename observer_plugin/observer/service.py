"""What the routes ask of the observer: tasks, processes, logs and sandbox files, checked.

``Observer`` is the composition of the task index and the resource monitor; each lookup
raises the observer's typed errors (404 for what is not there, 403 for a path leaving the
sandbox), which the app turns into one-line answers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from executor.api import ProcessView, run_log_dir

from . import files
from .errors import BadRequest, NotFound
from .index import IndexedTask, TaskIndex
from .listing import Page, select
from .resources import ResourceMonitor
from .sandbox import open_inside, resolve_inside

STREAMS = ("stdout", "stderr")


@dataclass(frozen=True)
class Settings:
    """The observer's settings (the command line's flags)."""

    roots: tuple[Path, ...]
    sample_interval: float = 5.0
    disk_interval: float = 60.0
    history: int = 180


class Observer:
    """The tasks of this host, their resources, logs and sandboxes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = TaskIndex(settings.roots)
        self.monitor = ResourceMonitor(self.index, interval=settings.sample_interval,
                                       disk_interval=settings.disk_interval,
                                       history=settings.history)  # fmt: skip

    def start(self) -> None:
        self.monitor.start()

    def stop(self) -> None:
        self.monitor.stop()

    def page(self, *, type: str = "all", sort: str = "launch", offset: int = 0,
             num: int | None = None) -> Page:  # fmt: skip
        return select(self.index.refresh(), type=type, sort=sort, offset=offset, num=num)

    def task(self, task_id: str) -> IndexedTask:
        task = self.index.get(task_id)
        if task is None:
            raise NotFound(f"no task {task_id} on this host")
        return task

    def tasks(self, task_ids: str) -> list[IndexedTask]:
        """The tasks of a comma-separated list; unknown ones are left out (404 if all are)."""
        ids = [t for t in task_ids.split(",") if t]
        if not ids:
            raise BadRequest("task_id: give one task id or several, comma-separated")
        found = [t for t in map(self.index.get, ids) if t is not None]
        if not found:
            raise NotFound(f"no task {', '.join(ids)} on this host")
        return found

    def process(self, task_id: str, name: str) -> tuple[IndexedTask, ProcessView]:
        task = self.task(task_id)
        process = task.view.processes.get(name)
        if process is None:
            raise NotFound(f"task {task_id} has no process {name!r}")
        return task, process

    def open_log(self, task_id: str, name: str, run: int, stream: str) -> BinaryIO:
        """A run's stdout or stderr, which must stay inside the task's log directory."""
        if stream not in STREAMS:
            raise NotFound(f"{stream!r}: a log is stdout or stderr")
        task, process = self.process(task_id, name)
        if not any(r.run == run for r in process.runs):
            raise NotFound(f"process {name!r} of task {task_id} has no run {run}")
        if task.view.log_dir is None:
            raise NotFound(f"task {task_id} has no log directory (yet)")
        log_dir = Path(task.view.log_dir)
        relative = os.path.relpath(run_log_dir(log_dir, name, run) / stream, log_dir)
        try:
            return open_inside(log_dir, relative)
        except NotFound as e:
            raise NotFound(f"no {stream} of {name!r} run {run} (yet)") from e

    def sandbox(self, task_id: str) -> tuple[IndexedTask, str]:
        task = self.task(task_id)
        if not task.view.sandbox or not os.path.isdir(task.view.sandbox):
            raise NotFound(f"task {task_id} has no sandbox on this host")
        return task, task.view.sandbox

    def browse(self, task_id: str, path: str) -> list[files.Entry]:
        _, sandbox = self.sandbox(task_id)
        directory = resolve_inside(sandbox, path)
        if not directory.is_dir():
            raise BadRequest(f"{path}: not a directory (read it as a file)")
        return files.list_dir(directory, os.path.realpath(sandbox))

    def is_dir(self, task_id: str, path: str) -> bool:
        _, sandbox = self.sandbox(task_id)
        return resolve_inside(sandbox, path).is_dir()

    def open_file(self, task_id: str, path: str) -> BinaryIO:
        _, sandbox = self.sandbox(task_id)
        return open_inside(sandbox, path)

