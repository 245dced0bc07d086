"""What a task page shows, gathered from the scheduler and, when it answers, the observer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aurora_provider.api import ApiError, AsyncSchedulerClient
from aurora_provider.api.models import ClusterInfo, TaskModel
from observer_plugin.ui.sources import (
    ObserverClient,
    ObserverError,
    ObserverUnavailable,
    observer_base,
)


@dataclass
class TaskView:
    task: TaskModel
    observer_url: str | None = None
    observed: dict[str, Any] | None = None  # the observer's /j/task entry
    processes: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    observer_problem: str | None = None  # one line, when the observer could not tell
    from_scheduler: bool = False  # processes read from the scheduler's task_logs instead
    job_path: str = ""  # cluster/role/env/name, the job page's address


def full_key(key: str, cluster: str) -> str:
    """``cluster/role/env/name`` of a task's job key (which may lack the cluster)."""
    return key if key.count("/") == 3 else f"{cluster}/{key}"


async def observer_for(client: AsyncSchedulerClient, task: TaskModel,
                       cluster: ClusterInfo | None = None) -> ObserverClient:
    return ObserverClient(observer_base(cluster or await client.cluster(), task.host))


async def gather_task(client: AsyncSchedulerClient, task_id: str) -> TaskView:
    task, cluster = await asyncio.gather(client.task(task_id), client.cluster())
    view = TaskView(task, job_path=full_key(task.job_key, cluster.name))
    try:
        observer = await observer_for(client, view.task, cluster)
    except ObserverUnavailable as e:
        view.observer_problem = str(e)
    else:
        view.observer_url = observer.base_url
        try:
            observed, processes, resources = await asyncio.gather(
                observer.get("/j/task", task_id=task_id),
                observer.get("/j/processes", task_id=task_id),
                observer.get(f"/j/resources/{quote(task_id, safe='')}"))
            view.observed = observed.get(task_id)
            view.processes = sorted((processes.get(task_id) or {}).values(),
                                    key=lambda p: str(p.get("name")))
            view.samples = list(resources.get("samples") or [])
        except ObserverUnavailable as e:
            view.observer_problem = str(e)
        except ObserverError as e:
            view.observer_problem = f"the observer at {observer.base_url}: {e.message}"
        finally:
            await observer.aclose()
    if view.observer_problem is not None:
        await _processes_from_scheduler(client, view)
    return view


async def _processes_from_scheduler(client: AsyncSchedulerClient, view: TaskView) -> None:
    """The scheduler's record of the task's processes, when the observer cannot be asked."""
    try:
        logs = await client.task_logs(view.task.task_id)
    except ApiError:  # the page shows what it has; the problem line says the rest
        return
    view.from_scheduler = True
    view.processes = [{"name": p.name, "state": p.runs[-1].state if p.runs else "-",
                       "runs": [r.model_dump() for r in p.runs]} for p in logs.processes]
