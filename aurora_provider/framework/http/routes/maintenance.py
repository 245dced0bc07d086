"""Host maintenance: status for anyone with a token; start, drain and end for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aurora_provider.api import models as m
from aurora_provider.framework.http.deps import Caller, Services
from aurora_provider.framework.operations.maintenance import HostStatus

router = APIRouter(prefix="/api/v1/maintenance", tags=["maintenance"])


def _hosts(found: list[HostStatus]) -> m.HostStatusList:
    return m.HostStatusList(hosts=[m.HostStatusModel(
        host=h.host, mode=h.mode, percentage=h.percentage, active_tasks=h.active_tasks)
        for h in found])


@router.get("", response_model=m.HostStatusList)
def host_status(services: Services, user: Caller,
                hosts: Annotated[str | None, Query()] = None) -> m.HostStatusList:
    """The named hosts (comma-separated), or every host in maintenance."""
    names = [h.strip() for h in (hosts or "").split(",") if h.strip()]
    return _hosts(services.maintenance.status(names or None))


@router.post("/start", response_model=m.HostStatusList)
def start_maintenance(body: m.HostsRequest, services: Services,
                      user: Caller) -> m.HostStatusList:
    user.require_admin("start host maintenance")
    return _hosts(services.maintenance.start(body.hosts))


@router.post("/drain", response_model=m.HostStatusList)
def drain(body: m.DrainRequest, services: Services, user: Caller) -> m.HostStatusList:
    user.require_admin("drain hosts")
    return _hosts(services.maintenance.drain(body.hosts, body.percentage))


@router.post("/end", response_model=m.HostStatusList)
def end_maintenance(body: m.HostsRequest, services: Services,
                    user: Caller) -> m.HostStatusList:
    user.require_admin("end host maintenance")
    return _hosts(services.maintenance.end(body.hosts))
