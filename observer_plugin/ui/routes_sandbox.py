"""A task's sandbox through its agent's observer: directory listings, text files, and
downloads streamed through the plugin. Paths are checked here before they are forwarded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from aurora_provider.api import AsyncSchedulerClient
from observer_plugin.ui.paths import checked_path, parent_of, quoted
from observer_plugin.ui.render import message, page
from observer_plugin.ui.sources import (
    OBSERVER_TIMEOUT,
    ObserverClient,
    ObserverError,
    ObserverUnavailable,
    scheduler_client,
)
from observer_plugin.ui.task_data import observer_for

router = APIRouter()
Scheduler = Annotated[AsyncSchedulerClient, Depends(scheduler_client)]
PREVIEW = 64 * 1024
# Headers of the observer's download answer passed on to the browser.
PASSED_HEADERS = ("content-type", "content-disposition", "content-length", "content-encoding",
                  "last-modified")


def _remote(kind: str, task_id: str, path: str) -> str:
    return f"/{kind}/{quote(task_id, safe='')}/{quoted(path)}"


async def _ask(request: Request, client: AsyncSchedulerClient, task_id: str, route: str,
               **params: object) -> tuple[dict[str, object] | None, HTMLResponse | None]:
    """The observer's answer, or the one-line page saying why there is none."""
    observer: ObserverClient | None = None
    try:
        observer = await observer_for(client, await client.task(task_id))
        return await observer.get(route, **params), None
    except ObserverUnavailable as e:
        return None, message(request, "Observer unavailable", str(e), 502)
    except ObserverError as e:
        return None, message(request, "Refused" if e.status == 403 else "Not found",
                             e.message, e.status if e.status < 500 else 502)
    finally:
        if observer is not None:
            await observer.aclose()


@router.get("/tasks/{task_id}/browse", response_class=HTMLResponse)
@router.get("/tasks/{task_id}/browse/{path:path}", response_class=HTMLResponse)
async def browse_page(request: Request, task_id: str, client: Scheduler,
                      path: str = "") -> HTMLResponse:
    path = checked_path(path)
    listing, problem = await _ask(request, client, task_id, _remote("j/browse", task_id, path))
    if problem is not None:
        return problem
    entries = sorted((listing or {}).get("entries") or [],  # type: ignore[call-overload]
                     key=lambda e: (not e.get("is_dir"), str(e.get("name"))))
    return page(request, "browse.html", task_id=task_id, path=path, parent=parent_of(path),
                entries=entries)


@router.get("/tasks/{task_id}/file/{path:path}", response_class=HTMLResponse)
async def file_page(request: Request, task_id: str, path: str, client: Scheduler,
                    offset: Annotated[int | None, Query(ge=0)] = None) -> HTMLResponse:
    path = checked_path(path)
    if not path:
        return message(request, "Not a file", "the sandbox root is a directory", 404)
    chunk, problem = await _ask(request, client, task_id, _remote("j/file", task_id, path),
                                offset=offset, length=PREVIEW)
    if problem is not None:
        return problem
    return page(request, "file.html", task_id=task_id, path=path, parent=parent_of(path),
                chunk=chunk)


@router.get("/tasks/{task_id}/download/{path:path}")
async def download(request: Request, task_id: str, path: str, client: Scheduler) -> Response:
    """The file streamed from the observer as an attachment, never rendered."""
    path = checked_path(path)
    try:
        base = (await observer_for(client, await client.task(task_id))).base_url
    except ObserverUnavailable as e:
        return message(request, "Observer unavailable", str(e), 502)
    http = httpx.AsyncClient(base_url=base, timeout=OBSERVER_TIMEOUT)
    try:
        upstream = await http.send(http.build_request("GET", _remote("download", task_id, path)),
                                   stream=True)
    except httpx.HTTPError as e:
        await http.aclose()
        return message(request, "Observer unavailable",
                       f"the observer at {base} did not answer ({type(e).__name__})", 502)
    if upstream.status_code >= 400:
        await upstream.aread()
        await http.aclose()
        line = f"the observer refused {path!r} ({upstream.status_code})"
        return message(request, "Not downloadable", line,
                       upstream.status_code if upstream.status_code < 500 else 502)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for piece in upstream.aiter_raw():
                yield piece
        finally:
            await upstream.aclose()
            await http.aclose()

    headers = {k: v for k, v in upstream.headers.items() if k.lower() in PASSED_HEADERS}
    headers.setdefault("content-disposition",
                       f"attachment; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1])}")
    headers["x-content-type-options"] = "nosniff"
    return StreamingResponse(body(), status_code=upstream.status_code, headers=headers)
