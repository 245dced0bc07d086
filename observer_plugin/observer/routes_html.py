"""The HTML routes (Aurora's observer's pages) and ``/health``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from . import files, pages
from .html_base import path_url, seg
from .service import Observer

# The pages load nothing from anywhere: no CDN, no other host; only their own JSON.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'")

router = APIRouter()


def _observer(request: Request) -> Observer:
    observer: Observer = request.app.state.observer
    return observer


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def page(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers={"Content-Security-Policy": CSP})


@router.get("/health")
def health() -> Response:
    return PlainTextResponse("OK")


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)  # no icon, and no 404 in every browser console


@router.get("/")
def root(request: Request) -> Response:
    return RedirectResponse(f"{_base(request)}/main")


@router.get("/main")
@router.get("/main/{type}")
@router.get("/main/{type}/{offset}/{num}")
def main(request: Request, type: str = "all", offset: int = 0, num: int = pages.DEFAULT_PAGE,
         sort: str = "launch") -> Response:  # fmt: skip
    listed = _observer(request).page(type=type, sort=sort, offset=offset, num=num)
    return page(pages.main_page(_base(request), listed))


@router.get("/task/{task_id}")
def task(request: Request, task_id: str) -> Response:
    observer = _observer(request)
    found = observer.task(task_id)
    return page(pages.task_page(_base(request), found, observer.monitor.samples(task_id)))


@router.get("/process/{task_id}/{process}")
def process(request: Request, task_id: str, process: str) -> Response:
    observer = _observer(request)
    found, view = observer.process(task_id, process)
    latest = observer.monitor.latest(task_id)
    return page(pages.process_page(_base(request), found, view, latest))


@router.get("/logs/{task_id}/{process}/{run}/{stream}")
def logs(request: Request, task_id: str, process: str, run: int, stream: str) -> Response:
    with _observer(request).open_log(task_id, process, run, stream) as f:
        chunk = files.read_text(f, None, files.DEFAULT_LENGTH)
    return page(pages.log_page(_base(request), task_id, process, run, stream, chunk))


@router.get("/browse/{task_id}")
@router.get("/browse/{task_id}/{path:path}")
def browse(request: Request, task_id: str, path: str = "") -> Response:
    observer = _observer(request)
    if not observer.is_dir(task_id, path):
        return RedirectResponse(f"{_base(request)}/file/{seg(task_id)}/{path_url(path)}")
    entries = observer.browse(task_id, path)
    return page(pages.browse_page(_base(request), task_id, path, entries))


@router.get("/file/{task_id}/{path:path}")
def file(request: Request, task_id: str, path: str) -> Response:
    observer = _observer(request)
    if observer.is_dir(task_id, path):
        return RedirectResponse(f"{_base(request)}/browse/{seg(task_id)}/{path_url(path)}")
    with observer.open_file(task_id, path) as f:
        size = files.size_of(f)
        chunk = None if files.is_binary(f) else files.read_text(f, 0, files.DEFAULT_LENGTH)
    return page(pages.file_page(_base(request), task_id, path, chunk, size))
