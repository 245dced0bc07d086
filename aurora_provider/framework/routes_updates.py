"""REST routes of job updates (``/api/v1/updates``); ``register(app, jobs)`` adds them.

Reads need any valid token; starting or controlling an update needs the job's role or admin,
as for the job routes. Errors are the app's JSON ``{"code", "message"}``.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request

from aurora_provider.api import models as m
from aurora_provider.framework.auth import Authenticator, Principal
from aurora_provider.framework.errors import InvalidRequest
from aurora_provider.framework.jobs import JobService
from aurora_provider.framework.update_state import TERMINAL, UpdateStatus, statuses_of
from aurora_provider.framework.update_store import UpdateReader, UpdateRecord
from aurora_provider.framework.updates import UpdateController

_KEY_PART = re.compile(r"^[\w\-\.]+$")
_PREFIX = "/api/v1/updates"


def _principal(request: Request,
               authorization: Annotated[str | None, Header()] = None) -> Principal:
    authenticator: Authenticator = request.app.state.auth
    return authenticator.authenticate(authorization)


User = Annotated[Principal, Depends(_principal)]


def _path(role: str, environment: str, name: str) -> str:
    for field, value in (("role", role), ("environment", environment), ("name", name)):
        if not _KEY_PART.match(value):
            raise InvalidRequest(f"job key {field} {value!r} may only contain letters, "
                                 "digits, '_', '-' and '.'")
    return f"{role}/{environment}/{name}"


def summary(r: UpdateRecord) -> m.UpdateSummary:
    return m.UpdateSummary(
        update_id=r.update_id, key=f"{r.cluster}/{r.job_key}", status=r.status.value,
        active=r.status not in TERMINAL, user=r.user, message=r.message,
        created_at=r.created_at, updated_at=r.updated_at)


def details(r: UpdateRecord, reader: UpdateReader) -> m.UpdateDetails:
    return m.UpdateDetails(
        **summary(r).model_dump(),
        settings=m.UpdateSettingsModel.model_validate(r.settings.to_json()),
        instances=r.desired_instances, add=r.scope.get("add", []),
        remove=r.scope.get("remove", []), replace=r.scope.get("replace", []),
        last_pulse_at=r.last_pulse_at,
        progress=[m.InstanceProgressModel(instance=i, state=p.state,  # type: ignore[arg-type]
                                          failures=p.failures, task_id=p.task_id)
                  for i, p in sorted(r.progress.items())],
        events=[m.UpdateEventModel(timestamp=e.timestamp, status=e.status.value, user=e.user,
                                   message=e.message) for e in reader.events(r.update_id)],
        instance_events=[m.InstanceEventModel(instance=e.instance, timestamp=e.timestamp,
                                              action=e.action.value)
                         for e in reader.instance_events(r.update_id)])


def _matches(pattern: str | None, value: str) -> bool:
    return pattern is None or fnmatch.fnmatchcase(value, pattern)


def register(app: FastAPI, jobs: JobService) -> UpdateController:
    """Add the update routes to ``app``; returns the core's update controller."""
    controller = UpdateController.attach(jobs.core)
    reader = controller.reader
    router = APIRouter(prefix=_PREFIX, tags=["updates"])

    @router.post("", response_model=m.UpdateDetails, status_code=201)
    def start_update(body: m.StartUpdateRequest, user: User) -> m.UpdateDetails:
        Authenticator.require_role(user, body.job.key.role)
        return details(controller.start(body.job, user.user, body.message), reader)

    @router.get("", response_model=m.UpdateList)
    def list_updates(user: User, cluster: Annotated[str | None, Query()] = None,
                     role: Annotated[str | None, Query()] = None,
                     environment: Annotated[str | None, Query()] = None,
                     name: Annotated[str | None, Query()] = None,
                     status: Annotated[str | None, Query(
                         description="a group (active, all, blocked, failed, inactive, "
                                     "paused, succeeded) or a state name")] = None,
                     limit: Annotated[int, Query(ge=1, le=10000)] = 100) -> m.UpdateList:
        wanted: frozenset[UpdateStatus] | None = None
        if status is not None:
            try:
                wanted = statuses_of(status)
            except ValueError as e:
                raise InvalidRequest(str(e)) from e

        def match(r: UpdateRecord) -> bool:
            r_role, r_env, r_name = r.job_key.split("/")
            return (_matches(cluster, r.cluster) and _matches(role, r_role)
                    and _matches(environment, r_env) and _matches(name, r_name))

        found = controller.query(statuses=wanted, matches=match)
        return m.UpdateList(updates=[summary(r) for r in found[:limit]])

    @router.get("/{role}/{environment}/{name}", response_model=m.UpdateDetails)
    def job_update(role: str, environment: str, name: str, user: User) -> m.UpdateDetails:
        return details(controller.get(_path(role, environment, name)), reader)

    @router.get("/{role}/{environment}/{name}/{update_id}", response_model=m.UpdateDetails)
    def one_update(role: str, environment: str, name: str, update_id: str,
                   user: User) -> m.UpdateDetails:
        return details(controller.get(_path(role, environment, name), update_id), reader)

    def control(verb: str) -> None:
        action = getattr(controller, verb)

        def route(role: str, environment: str, name: str, body: m.UpdateActionRequest,
                  user: User) -> m.UpdateSummary:
            key = _path(role, environment, name)
            Authenticator.require_role(user, role)
            if verb == "pulse":
                return summary(controller.pulse(key, user.user, body.update_id))
            return summary(action(key, user.user, body.message, body.update_id))

        router.add_api_route(f"/{{role}}/{{environment}}/{{name}}/{verb}", route,
                             methods=["POST"], response_model=m.UpdateSummary,
                             name=f"{verb}_update", summary=f"{verb.capitalize()} the job's "
                             "active update")

    for verb in ("pause", "resume", "abort", "rollback", "pulse"):
        control(verb)
    app.include_router(router)
    return controller
