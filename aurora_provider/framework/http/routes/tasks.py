"""Tasks: one task with its events, its processes' runs and their logs, and its result."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from aurora_provider.api import models as m
from aurora_provider.api.errors import NotFound, TaskNotFound, XcomTooLarge
from aurora_provider.framework.backends.base import LogRead, LogSource
from aurora_provider.framework.http.deps import ApiServices, Caller, Services

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

CHUNK_BYTES = 2**20  # what one read of a log answers unless it asks for less (or more)
MAX_CHUNK_BYTES = 16 * 2**20  # as a page of a Mesos agent's reads
MAX_OFFSET = 2**62


def _logs(services: ApiServices) -> LogSource:
    if services.logs is None:
        raise NotFound(f"the {services.backend_name} backend does not serve task logs")
    return services.logs


@router.get("/{task_id}", response_model=m.TaskModel)
def task(task_id: str, services: Services, user: Caller) -> m.TaskModel:
    return services.jobs.task(task_id)


@router.get("/{task_id}/logs", response_model=m.TaskLogs)
def task_logs(task_id: str, services: Services, user: Caller) -> m.TaskLogs:
    listing = _logs(services).task_logs(task_id)
    if listing is None:
        raise TaskNotFound(f"task {task_id} has no sandbox on this scheduler's agents")
    return m.TaskLogs.model_validate(listing)


@router.get("/{task_id}/logs/{process}/{run}/{stream}", response_class=PlainTextResponse)
def task_log(task_id: str, process: str, run: int, stream: Literal["stdout", "stderr"],
             services: Services,
             user: Caller,
             tail_bytes: Annotated[int, Query(ge=1, le=64 * 2**20)] = 2**20) -> str:
    text = _logs(services).task_log(task_id, process, run, stream, tail_bytes)
    if text is None:
        raise NotFound(f"no {stream} for task {task_id}, process {process}, run {run}")
    return text


@router.get("/{task_id}/xcom", response_model=m.TaskXcom)
def task_xcom(task_id: str, services: Services, user: Caller) -> m.TaskXcom:
    # One byte over the cap is enough to know it is over, whatever the file's size says.
    read = _logs(services).read_xcom(task_id, m.XCOM_MAX_BYTES + 1)
    if read is None:
        raise TaskNotFound(f"task {task_id} has no sandbox on this scheduler's agents")
    if read.size is None:
        return m.TaskXcom(task_id=task_id, present=False)
    if max(read.size, len(read.data)) > m.XCOM_MAX_BYTES:
        raise XcomTooLarge(f"task {task_id}: its result file .aurora/xcom.json holds "
                              f"{read.size} bytes, over the limit of {m.XCOM_MAX_BYTES} "
                              "bytes: write a smaller result (a path or URL to the data)")
    return m.TaskXcom(task_id=task_id, present=True, size=read.size,
                      content=read.data.decode(errors="replace"))


@router.get("/{task_id}/logs/{process}/{run}/{stream}/chunk", response_model=m.LogChunk)
def task_log_chunk(task_id: str, process: str, run: int, stream: Literal["stdout", "stderr"],
                   services: Services,
                   user: Caller,
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                   limit: Annotated[int, Query(ge=4, le=MAX_CHUNK_BYTES)] = CHUNK_BYTES,
                   ) -> m.LogChunk:
    read = _logs(services).read_task_log(task_id, process, run, stream, offset, limit)
    if read is None:
        raise NotFound(f"no {stream} for task {task_id}, process {process}, run {run}")
    return log_chunk(read)


def log_chunk(read: LogRead) -> m.LogChunk:
    """The wire form of a read, ending on a whole UTF-8 character: the bytes of one cut by
    the end of the read (its writer may be in the middle of it) start the next read."""
    cut = _cut_character(read.data)
    return m.LogChunk(offset=read.offset, next=read.next - cut, size=read.size,
                      text=read.data[:len(read.data) - cut].decode(errors="replace"))


def _cut_character(data: bytes) -> int:
    """How many bytes at the end of ``data`` begin a UTF-8 character they do not finish
    (never all of them, so that every read moves on)."""
    for back in range(1, min(4, len(data) - 1) + 1):
        lead = data[-back]
        if lead & 0xC0 == 0x80:  # a continuation byte: the character began further back
            continue
        length = 2 if lead & 0xE0 == 0xC0 else 3 if lead & 0xF0 == 0xE0 else \
            4 if lead & 0xF8 == 0xF0 else 1
        return back if length > back else 0
    return 0
