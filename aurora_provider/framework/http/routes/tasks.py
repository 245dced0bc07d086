"""Tasks: one task with its events, its processes' runs and their logs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from aurora_provider.api import models as m
from aurora_provider.api.errors import NotFound, TaskNotFound
from aurora_provider.framework.backends.base import LogSource
from aurora_provider.framework.http.deps import ApiServices, Caller, Services

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


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
