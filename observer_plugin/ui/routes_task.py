"""A task's page, its log tail (HTML, and the JSON route the tail follows) and resources."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from aurora_provider.api import AsyncSchedulerClient
from observer_plugin.ui.chart import resource_charts
from observer_plugin.ui.render import message, page
from observer_plugin.ui.sources import (
    ObserverError,
    ObserverUnavailable,
    scheduler_client,
)
from observer_plugin.ui.task_data import gather_task, observer_for

router = APIRouter()
Scheduler = Annotated[AsyncSchedulerClient, Depends(scheduler_client)]
STREAMS = ("stdout", "stderr")
TAIL = 64 * 1024


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(request: Request, task_id: str, client: Scheduler) -> HTMLResponse:
    view = await gather_task(client, task_id)
    return page(request, "task.html", view=view, task=view.task,
                charts=resource_charts(view.samples) if view.samples else [])


async def _log_chunk(client: AsyncSchedulerClient, task_id: str, process: str, run: int,
                     stream: str, offset: int | None, length: int) -> dict[str, Any]:
    task = await client.task(task_id)
    observer = await observer_for(client, task)
    try:
        route = f"/j/logs/{quote(task_id, safe='')}/{quote(process, safe='')}/{run}/{stream}"
        chunk: dict[str, Any] = await observer.get(route, offset=offset, length=length)
        return chunk
    finally:
        await observer.aclose()


@router.get("/tasks/{task_id}/logs/{process}/{run}/{stream}", response_class=HTMLResponse)
async def log_page(request: Request, task_id: str, process: str, run: int, stream: str,
                   client: Scheduler) -> HTMLResponse:
    if stream not in STREAMS:
        return message(request, "No such log", f"stream {stream!r} is not stdout or stderr", 404)
    problem = None
    try:
        chunk = await _log_chunk(client, task_id, process, run, stream, None, TAIL)
    except ObserverError as e:
        return message(request, "No such log", e.message, e.status if e.status < 500 else 502)
    except ObserverUnavailable as e:
        # The scheduler keeps the end of each log too: show it, without following.
        problem = str(e)
        text = await client.task_log(task_id, process, run, stream, tail_bytes=TAIL)
        chunk = {"data": text, "offset": 0, "length": len(text.encode()), "size": None}
    return page(request, "logs.html", task_id=task_id, process=process, run=run,
                stream=stream, chunk=chunk, problem=problem,
                follow=None if problem else
                f"/api/tasks/{task_id}/logs/{process}/{run}/{stream}")


@router.get("/api/tasks/{task_id}/logs/{process}/{run}/{stream}")
async def log_json(task_id: str, process: str, run: int, stream: str, client: Scheduler,
                   offset: Annotated[int | None, Query(ge=0)] = None,
                   length: Annotated[int, Query(ge=1, le=TAIL * 16)] = TAIL) -> JSONResponse:
    """A piece of a log, as the observer gives it: follow by asking from offset + length."""
    if stream not in STREAMS:
        return JSONResponse({"error": f"stream {stream!r} is not stdout or stderr"}, 404)
    try:
        return JSONResponse(await _log_chunk(client, task_id, process, run, stream,
                                             offset, length))
    except ObserverError as e:
        return JSONResponse({"error": e.message}, e.status if e.status < 500 else 502)


@router.get("/api/tasks/{task_id}/resources")
async def resources_json(task_id: str, client: Scheduler) -> JSONResponse:
    """The observer's CPU/RSS/disk samples of the task, oldest first."""
    task = await client.task(task_id)
    observer = await observer_for(client, task)
    try:
        return JSONResponse(await observer.get(f"/j/resources/{quote(task_id, safe='')}"))
    except ObserverError as e:
        return JSONResponse({"error": e.message}, e.status if e.status < 500 else 502)
    finally:
        await observer.aclose()
