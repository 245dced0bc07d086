"""The JSON routes under ``/j/`` and the download route: what the UI plugin consumes."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from . import files
from .service import Observer
from .views import process_json, processes_json, task_json


def _observer(request: Request) -> Observer:
    observer: Observer = request.app.state.observer
    return observer


router = APIRouter()


@router.get("/j/task_ids")
def task_ids(request: Request, type: str = "all", offset: int = 0, num: int | None = None,
             sort: str = "launch") -> Response:  # fmt: skip
    page = _observer(request).page(type=type, sort=sort, offset=offset, num=num)
    return JSONResponse(page.ids())


@router.get("/j/task")
def task(request: Request, task_id: str) -> Response:
    observer = _observer(request)
    return JSONResponse({t.task_id: task_json(t.view, observer.monitor.latest(t.task_id))
                         for t in observer.tasks(task_id)})  # fmt: skip


@router.get("/j/processes")
def processes(request: Request, task_id: str) -> Response:
    return JSONResponse({t.task_id: processes_json(t.view)
                         for t in _observer(request).tasks(task_id)})  # fmt: skip


@router.get("/j/process/{task_id}/{process}")
def process(request: Request, task_id: str, process: str) -> Response:
    _, view = _observer(request).process(task_id, process)
    return JSONResponse(process_json(view))


@router.get("/j/resources/{task_id}")
def resources(request: Request, task_id: str) -> Response:
    observer = _observer(request)
    observer.task(task_id)
    samples = observer.monitor.samples(task_id)
    return JSONResponse({"task_id": task_id, "samples": [s.as_json() for s in samples]})


@router.get("/j/logs/{task_id}/{process}/{run}/{stream}")
def logs(request: Request, task_id: str, process: str, run: int, stream: str,
         offset: int | None = None, length: int | None = None) -> Response:  # fmt: skip
    offset, size = files.check_range(offset, length)
    with _observer(request).open_log(task_id, process, run, stream) as f:
        return JSONResponse(files.read_text(f, offset, size).as_json())


@router.get("/j/browse/{task_id}")
@router.get("/j/browse/{task_id}/{path:path}")
def browse(request: Request, task_id: str, path: str = "") -> Response:
    entries = _observer(request).browse(task_id, path)
    return JSONResponse({"task_id": task_id, "path": path,
                         "entries": [e.as_json() for e in entries]})  # fmt: skip


@router.get("/j/file/{task_id}/{path:path}")
def file(request: Request, task_id: str, path: str, offset: int | None = None,
         length: int | None = None) -> Response:  # fmt: skip
    start, size = files.check_range(offset, length)
    with _observer(request).open_file(task_id, path) as f:
        if files.is_binary(f):
            total = files.size_of(f)
            return JSONResponse({"data": "", "offset": start or 0, "length": 0, "size": total,
                                 "binary": True})  # fmt: skip
        # A file reads from its start unless told otherwise (a log reads from its end).
        chunk = files.read_text(f, start if start is not None else 0, size)
        return JSONResponse({**chunk.as_json(), "binary": False})


@router.get("/download/{task_id}/{path:path}")
def download(request: Request, task_id: str, path: str) -> Response:
    f = _observer(request).open_file(task_id, path)
    size = files.size_of(f)
    name = path.rstrip("/").rsplit("/", 1)[-1] or "file"
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(files.stream(f), media_type="application/octet-stream",
                             headers=headers)  # fmt: skip
