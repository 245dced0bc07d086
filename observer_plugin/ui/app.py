"""The FastAPI app Airflow mounts at ``/aurora``: every route needs an authenticated user.

Errors become one-line pages: a job, task or update the scheduler does not know is a 404,
an unreachable scheduler a 502, a sandbox path that would leave the sandbox a 403.
"""

from __future__ import annotations

from airflow.api_fastapi.core_api.security import requires_authenticated
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from aurora_provider.api import ApiError, NotFound, SchedulerUnavailable
from observer_plugin.ui import routes_cluster, routes_job, routes_sandbox, routes_task, routes_ti
from observer_plugin.ui.paths import BadSandboxPath
from observer_plugin.ui.render import STATIC, message
from observer_plugin.ui.sources import ObserverUnavailable


def _answer(request: Request, title: str, line: str, status: int) -> Response:
    # The JSON routes (under /api) answer JSON; the pages answer a page.
    if "/api/" in request.url.path:
        return JSONResponse({"error": line}, status)
    return message(request, title, line, status)


def _not_found(request: Request, error: Exception) -> Response:
    return _answer(request, "Not found", str(error), 404)


def _unavailable(request: Request, error: Exception) -> Response:
    return _answer(request, "Scheduler unavailable", str(error), 502)


def _api_error(request: Request, error: Exception) -> Response:
    status = getattr(error, "status", None) or 502
    # A token the scheduler refuses is the connection's problem, not the visitor's.
    passed = 400 <= status < 500 and status not in (401, 403)
    return _answer(request, "Scheduler error", str(error), status if passed else 502)


def _bad_path(request: Request, error: Exception) -> Response:
    return _answer(request, "Refused", str(error), 403)


def _observer(request: Request, error: Exception) -> Response:
    return _answer(request, "Observer unavailable", str(error), 502)


def create_app() -> FastAPI:
    app = FastAPI(title="Aurora", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(requires_authenticated())])
    for module in (routes_cluster, routes_job, routes_task, routes_sandbox, routes_ti):
        app.include_router(module.router)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(SchedulerUnavailable, _unavailable)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(BadSandboxPath, _bad_path)
    app.add_exception_handler(ObserverUnavailable, _observer)

    @app.get("/static/aurora.css", include_in_schema=False)
    def stylesheet() -> FileResponse:
        return FileResponse(STATIC / "aurora.css", media_type="text/css")

    @app.get("/health", response_class=HTMLResponse, include_in_schema=False)
    def health() -> str:
        return "OK"

    return app
