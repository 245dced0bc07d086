"""The scheduler's HTTP face: REST under /api/v1, /health, /leaderhealth, /metrics.

Every error is JSON ``{"code", "message"}``; bad input is a 4xx naming what is wrong.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aurora_provider.api import models as m
from aurora_provider.framework import routes_admin, routes_cron, routes_updates
from aurora_provider.framework.auth import Authenticator, Principal
from aurora_provider.framework.backends.base import LogSource
from aurora_provider.framework.errors import InvalidRequest, NotFound, SchedulerError
from aurora_provider.framework.jobs import JobService

VERSION = "0.1.0"
_KEY_PART = re.compile(r"^[\w\-\.]+$")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _principal(request: Request,
               authorization: Annotated[str | None, Header()] = None) -> Principal:
    authenticator: Authenticator = request.app.state.auth
    return authenticator.authenticate(authorization)


# Module level: FastAPI resolves these (string) annotations in the module's namespace.
User = Annotated[Principal, Depends(_principal)]


def create_app(jobs: JobService, auth: Authenticator, *, backend_name: str,
               is_leader: Callable[[], bool] = lambda: True) -> FastAPI:
    core = jobs.core
    app = FastAPI(title="Aurora scheduler", version=VERSION,
                  description="Jobs and tasks of an Aurora cluster (REST, bearer tokens).")
    app.state.auth = auth

    @app.exception_handler(SchedulerError)
    async def scheduler_error(_: Request, exc: SchedulerError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "INVALID_REQUEST", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _error(500, "INTERNAL", f"internal error: {type(exc).__name__}: {exc}")

    @app.middleware("http")
    async def timing(request: Request,
                     call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        core.metrics.observe_request(request.method, path, response.status_code,
                                     time.perf_counter() - started)
        return response

    def path_of(role: str, environment: str, name: str) -> str:
        for field, value in (("role", role), ("environment", environment), ("name", name)):
            if not _KEY_PART.match(value):
                raise InvalidRequest(f"job key {field} {value!r} may only contain letters, "
                                     "digits, '_', '-' and '.'")
        return f"{role}/{environment}/{name}"

    # -- unauthenticated probes --------------------------------------------------------

    @app.get("/health", response_class=PlainTextResponse, tags=["probes"])
    def health() -> str:
        return "OK"

    @app.get("/leaderhealth", response_class=PlainTextResponse, tags=["probes"])
    def leaderhealth(response: Response) -> str:
        # Aurora: 200 on the leader, 503 on a follower (502 when no leader is known).
        if is_leader():
            return "OK"
        response.status_code = 503
        return "not the leader"

    @app.get("/metrics", response_class=PlainTextResponse, tags=["probes"])
    def metrics() -> str:
        return core.metrics.render(core.store.count_by_status())

    # -- API ---------------------------------------------------------------------------------

    @app.get("/api/v1/whoami", response_model=m.WhoAmI, tags=["auth"])
    def whoami(user: User) -> m.WhoAmI:
        return m.WhoAmI(user=user.user, roles=sorted(user.roles), admin=user.admin)

    @app.get("/api/v1/cluster", response_model=m.ClusterInfo, tags=["cluster"])
    def cluster(user: User) -> m.ClusterInfo:
        return m.ClusterInfo(name=jobs.cluster, backend=backend_name, leader=is_leader(),
                             version=VERSION)

    @app.get("/api/v1/jobs", response_model=m.JobList, tags=["jobs"])
    def list_jobs(user: User, pattern: Annotated[str | None, Query()] = None) -> m.JobList:
        return jobs.list(pattern)

    @app.post("/api/v1/jobs", response_model=m.CreateJobResponse, status_code=201,
              tags=["jobs"])
    def create_job(body: m.CreateJobRequest, user: User) -> m.CreateJobResponse:
        Authenticator.require_role(user, body.job.key.role)
        return jobs.create(body.job)

    @app.get("/api/v1/jobs/{role}/{environment}/{name}", response_model=m.JobStatus,
             tags=["jobs"])
    def job_status(role: str, environment: str, name: str, user: User) -> Response:
        # Serialised directly: validating a 10,000-task answer again would double its cost.
        document = jobs.status_document(path_of(role, environment, name))
        return Response(json.dumps(document, separators=(",", ":")),
                        media_type="application/json")

    @app.post("/api/v1/jobs/{role}/{environment}/{name}/kill", response_model=m.KillResponse,
              tags=["jobs"])
    def kill(role: str, environment: str, name: str, body: m.KillRequest,
             user: User) -> m.KillResponse:
        key = path_of(role, environment, name)
        Authenticator.require_role(user, role)
        return jobs.kill(key, body.instances, user.user, body.message)

    @app.post("/api/v1/jobs/{role}/{environment}/{name}/restart",
              response_model=m.RestartModel, status_code=202, tags=["jobs"])
    def restart(role: str, environment: str, name: str, body: m.RestartRequest,
                user: User) -> m.RestartModel:
        key = path_of(role, environment, name)
        Authenticator.require_role(user, role)
        return jobs.restart(key, body.instances, body.batch_size)

    @app.get("/api/v1/jobs/{role}/{environment}/{name}/restart",
             response_model=m.RestartModel, tags=["jobs"])
    def restart_status(role: str, environment: str, name: str, user: User) -> m.RestartModel:
        return jobs.restart_status(path_of(role, environment, name))

    @app.post("/api/v1/jobs/{role}/{environment}/{name}/instances",
              response_model=m.AddInstancesResponse, status_code=201, tags=["jobs"])
    def add_instances(role: str, environment: str, name: str, body: m.AddInstancesRequest,
                      user: User) -> m.AddInstancesResponse:
        key = path_of(role, environment, name)
        Authenticator.require_role(user, role)
        return jobs.add_instances(key, body.template_instance, body.count)

    @app.post("/api/v1/jobs/{role}/{environment}/{name}/diff", response_model=m.JobDiff,
              tags=["jobs"])
    def diff(role: str, environment: str, name: str, body: m.DiffRequest,
             user: User) -> m.JobDiff:
        key = path_of(role, environment, name)
        if body.job.key.path() != key:
            raise InvalidRequest(
                f"the configuration is for job {body.job.key}, the URL names {key}")
        return jobs.diff(body.job)

    @app.get("/api/v1/tasks/{task_id}", response_model=m.TaskModel, tags=["tasks"])
    def task(task_id: str, user: User) -> m.TaskModel:
        return jobs.task(task_id)

    @app.get("/api/v1/tasks/{task_id}/logs", response_model=m.TaskLogs, tags=["tasks"])
    def task_logs(task_id: str, user: User) -> m.TaskLogs:
        source = _log_source(core.backend, backend_name)
        listing = source.task_logs(task_id)
        if listing is None:
            raise NotFound(f"task {task_id} has no sandbox on this scheduler's agents")
        return m.TaskLogs.model_validate(listing)

    @app.get("/api/v1/tasks/{task_id}/logs/{process}/{run}/{stream}",
             response_class=PlainTextResponse, tags=["tasks"])
    def task_log(task_id: str, process: str, run: int, stream: str, user: User,
                 tail_bytes: Annotated[int, Query(ge=1, le=64 * 2**20)] = 2**20) -> str:
        if stream not in ("stdout", "stderr"):
            raise InvalidRequest(f"stream {stream!r} must be stdout or stderr")
        text = _log_source(core.backend, backend_name).task_log(
            task_id, process, run, stream, tail_bytes)
        if text is None:
            raise NotFound(f"no {stream} for task {task_id}, process {process}, run {run}")
        return text

    routes_updates.register(app, jobs)  # /api/v1/updates (issue 5)
    routes_cron.register(app, jobs)  # /api/v1/cron (issue 5)
    routes_admin.register(app, jobs)  # /api/v1/quotas, /maintenance, /admin (issue 5)
    return app


def _log_source(backend: object, name: str) -> LogSource:
    if not hasattr(backend, "task_logs") or not hasattr(backend, "task_log"):
        raise NotFound(f"the {name} backend does not serve task logs")
    return cast(LogSource, backend)

