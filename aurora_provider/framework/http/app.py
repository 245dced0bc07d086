"""The scheduler's FastAPI app: REST under /api/v1, /health, /leaderhealth, /metrics, and a
small HTML page at /.

Every error is JSON ``{"code", "message"}`` with the status of its class
(``aurora_provider.api.errors``); bad input is a 4xx naming what is wrong. An illegal state
change asked for by a request is a 409, never a 500. A request with a body is
authenticated and bounded before the body is read (``limits.py``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aurora_provider import __version__
from aurora_provider.api.errors import ApiError
from aurora_provider.framework.http import openapi
from aurora_provider.framework.http.deps import ApiServices
from aurora_provider.framework.http.limits import RequestLimits
from aurora_provider.framework.http.literal_routes import prefer_literal_segments
from aurora_provider.framework.http.routes import (
    admin,
    cluster,
    cron,
    home,
    jobs,
    maintenance,
    probes,
    quotas,
    tasks,
    updates,
)
from aurora_provider.framework.thrift.route import ThriftEndpoint
from aurora_provider.states.machine import IllegalTransition

ROUTERS = (home.router, probes.router, cluster.router, jobs.router, tasks.router, updates.router,
           cron.router, quotas.router, maintenance.router, admin.router)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def create_app(services: ApiServices, *, max_body_bytes: int) -> FastAPI:
    """:param max_body_bytes: request bodies above this are answered 413 unread."""
    app = FastAPI(title="Aurora scheduler", version=__version__,
                  description="Jobs and tasks of an Aurora cluster (REST, bearer tokens).")
    app.state.services = services
    for router in ROUTERS:
        app.include_router(router)
    prefer_literal_segments(app)
    openapi.install(app, services.cluster)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(IllegalTransition)
    async def illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return _error(409, "CONFLICT", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "INVALID_REQUEST", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        answer = _error(exc.status_code, code, str(exc.detail))
        if exc.status_code == 405:
            answer.headers["Allow"] = openapi.allowed_methods(app, request.scope)
        return answer

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _error(500, "INTERNAL", f"internal error: {type(exc).__name__}: {exc}")

    # Added before the timing middleware, so inside it: refusals are measured too.
    app.add_middleware(RequestLimits, authenticate=services.auth.from_header,
                       max_body_bytes=max_body_bytes, routes=app.router.routes)
    app.add_middleware(ThriftEndpoint, services=services, max_body_bytes=max_body_bytes)

    @app.middleware("http")
    async def timing(request: Request,
                     call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        services.metrics.observe_request(request.method, route, response.status_code,
                                         time.perf_counter() - started)
        return response

    return app
