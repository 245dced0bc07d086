"""Checkpoint streams written with the executor's own checkpoint code, for the unit tests
(a task's history without running it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aurora_provider.states.executor_task import ExecutorTaskState
from aurora_provider.states.process_run import ProcessState
from executor.api import TaskPaths
from executor.core.checkpoint import StreamWriter, scan
from executor.core.records import HeaderRecord, ProcessRecord, Record, TaskStateRecord

P, T = ProcessState, ExecutorTaskState


def append(root: Path, task_id: str, records: Sequence[Record]) -> None:
    stream = TaskPaths(root, task_id).stream
    current = scan(stream)
    writer = StreamWriter(stream, current.good_bytes, len(current.records))
    try:
        for record in records:
            writer.append(record)
    finally:
        writer.close()


def write_task(root: Path, task_id: str, *, launch: float, job_key: str = "c/r/e/j",
               instance: int = 0, finished: bool = False, sandbox: Path | None = None,
               pid: int | None = None) -> None:  # fmt: skip
    """A task with one process ``main``: running (pid ``pid``), or finished (SUCCESS)."""
    records: list[Record] = [
        HeaderRecord(task_id=task_id, launch_time=launch, job_key=job_key, instance=instance,
                     sandbox=str(sandbox) if sandbox else None, hostname="host",
                     log_dir=str(sandbox / ".logs") if sandbox else None),
        ProcessRecord("main", 0, P.WAITING),
        ProcessRecord("main", 0, P.FORKED, pid=pid or 1, fork_time=launch),
        ProcessRecord("main", 0, P.RUNNING, start_time=launch),
    ]  # fmt: skip
    if finished:
        records += [
            ProcessRecord("main", 0, P.SUCCESS, stop_time=launch + 1, return_code=0),
            TaskStateRecord(T.CLEANING, launch + 1),
            TaskStateRecord(T.SUCCESS, launch + 1),
        ]
    append(root, task_id, records)


def finish(root: Path, task_id: str, when: float) -> None:
    append(root, task_id, [
        ProcessRecord("main", 0, P.SUCCESS, stop_time=when, return_code=0),
        TaskStateRecord(T.CLEANING, when), TaskStateRecord(T.SUCCESS, when),
    ])  # fmt: skip
