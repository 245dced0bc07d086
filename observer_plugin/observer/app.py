"""The observer's FastAPI app: JSON under ``/j/``, HTML pages, ``/download``, ``/health``.

The resource monitor runs for as long as the app does (the lifespan starts and stops it).
Every error is one line: JSON ``{"error": ...}`` on the JSON and download routes, a small
page on the others, with the status of its class (400 bad input, 403 a path leaving the
sandbox, 404 nothing there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from aurora_provider import __version__

from . import pages, routes_html, routes_json
from .errors import ObserverError
from .service import Observer

JSON_PREFIXES = ("/j/", "/download/")


def _answer(request: Request, status: int, message: str) -> Response:
    path = request.url.path[len(str(request.scope.get("root_path", ""))):] or "/"
    if path.startswith(JSON_PREFIXES):
        return JSONResponse({"error": message}, status_code=status)
    base = str(request.scope.get("root_path", "")).rstrip("/")
    return routes_html.page(pages.error_page(base, status, message), status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def create_app(observer: Observer) -> FastAPI:
    """The app serving ``observer``; its lifespan runs the resource monitor."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        observer.start()
        try:
            yield
        finally:
            observer.stop()

    app = FastAPI(title="Aurora observer", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)  # fmt: skip
    app.state.observer = observer
    app.include_router(routes_json.router)
    app.include_router(routes_html.router)

    @app.exception_handler(ObserverError)
    async def observer_error(request: Request, exc: ObserverError) -> Response:
        return _answer(request, exc.status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return _answer(request, 400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return _answer(request, exc.status_code, f"{request.url.path}: {message}")

    return app
