"""Job updates: start, list, details, and the user's actions on the active one.

Reads need any valid token; starting or steering an update needs the job's role or admin.
"""

from __future__ import annotations

import fnmatch
from typing import Annotated

from fastapi import APIRouter, Query

from aurora_provider.api import models as m
from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.http.deps import Caller, JobPath, OwnedJob, Services
from aurora_provider.framework.http.routes.jobs import config_of
from aurora_provider.framework.model.updates import UpdateRecord
from aurora_provider.framework.updates.controller import UpdateAction, UpdateController
from aurora_provider.states.update import (
    STATUS_GROUPS,
    TERMINAL,
    UnknownUpdateStatus,
    UpdateStatus,
    statuses_of,
)

STATUS_NAMES = [*STATUS_GROUPS, *(s.value for s in UpdateStatus)]
router = APIRouter(prefix="/api/v1/updates", tags=["updates"])
JOB = "/{role}/{environment}/{name}"


def summary(r: UpdateRecord) -> m.UpdateSummary:
    return m.UpdateSummary(
        update_id=r.update_id, key=f"{r.cluster}/{r.job_key}", status=r.status,
        active=r.status not in TERMINAL, user=r.user, message=r.message,
        created_at=r.created_at, updated_at=r.updated_at,
        only_instances=None if r.only_instances is None else list(r.only_instances),
        creates_job=r.creates_job)


def details(r: UpdateRecord, updates: UpdateController) -> m.UpdateDetails:
    return m.UpdateDetails(
        **summary(r).model_dump(),
        settings=m.UpdateSettingsModel.model_validate(r.settings.to_json()),
        instances=r.desired_instances, add=r.scope.get("add", []),
        remove=r.scope.get("remove", []), replace=r.scope.get("replace", []),
        last_pulse_at=r.last_pulse_at,
        progress=[m.InstanceProgressModel(instance=i, state=p.state, failures=p.failures,
                                          task_id=p.task_id)
                  for i, p in sorted(r.progress.items())],
        events=[m.UpdateEventModel(timestamp=e.timestamp, status=e.status, user=e.user,
                                   message=e.message) for e in updates.events(r.update_id)],
        instance_events=[m.InstanceEventModel(instance=e.instance, timestamp=e.timestamp,
                                              action=e.action)
                         for e in updates.instance_events(r.update_id)])


def _matches(pattern: str | None, value: str) -> bool:
    return pattern is None or fnmatch.fnmatchcase(value, pattern)


@router.post("", response_model=m.UpdateDetails, status_code=201)
def start_update(body: m.StartUpdateRequest, services: Services,
                 user: Caller) -> m.UpdateDetails:
    user.require_role(body.job.key.role)
    record = services.updates.start(config_of(body.job), user.user, body.message,
                                    body.instances)
    return details(record, services.updates)


@router.get("", response_model=m.UpdateList)
def list_updates(services: Services, user: Caller,
                 cluster: Annotated[str | None, Query()] = None,
                 role: Annotated[str | None, Query()] = None,
                 environment: Annotated[str | None, Query()] = None,
                 name: Annotated[str | None, Query()] = None,
                 status: Annotated[str | None, Query(
                     description="a group (active, all, blocked, failed, inactive, paused, "
                                 "succeeded) or a state name, in any case",
                     json_schema_extra={"enum": STATUS_NAMES})] = None,
                 limit: Annotated[int, Query(ge=1, le=10000)] = 100) -> m.UpdateList:
    try:
        wanted = statuses_of(status) if status is not None else None
    except UnknownUpdateStatus as e:
        raise InvalidRequest(str(e)) from e

    def match(r: UpdateRecord) -> bool:
        r_role, r_env, r_name = r.job_key.split("/")
        return (_matches(cluster, r.cluster) and _matches(role, r_role)
                and _matches(environment, r_env) and _matches(name, r_name))

    found = services.updates.query(statuses=wanted, matches=match)
    return m.UpdateList(updates=[summary(r) for r in found[:limit]])


@router.get(JOB, response_model=m.UpdateDetails)
def job_update(key: JobPath, services: Services, user: Caller) -> m.UpdateDetails:
    return details(services.updates.get(key), services.updates)


@router.get(JOB + "/{update_id}", response_model=m.UpdateDetails)
def one_update(key: JobPath, update_id: str, services: Services,
               user: Caller) -> m.UpdateDetails:
    return details(services.updates.get(key, update_id), services.updates)


_ACTIONS = {
    UpdateAction.PAUSE: "Pause the job's active update",
    UpdateAction.RESUME: "Resume the job's paused update",
    UpdateAction.ABORT: "Abort the job's active update",
    UpdateAction.ROLLBACK: "Roll the job's active update back",
    UpdateAction.PULSE: "Pulse the job's coordinated update",
}


def _action_route(action: UpdateAction, text: str) -> None:
    def route(key: OwnedJob, body: m.UpdateActionRequest, services: Services,
              user: Caller) -> m.UpdateSummary:
        return summary(services.updates.act(action, key, user.user, body.message,
                                            body.update_id))

    router.add_api_route(JOB + f"/{action.value}", route, methods=["POST"],
                         response_model=m.UpdateSummary, name=f"{action.value}_update",
                         summary=text)


for _action, _text in _ACTIONS.items():
    _action_route(_action, _text)
