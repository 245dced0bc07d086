"""Host maintenance: status for anyone with a token; start, drain (plain or SLA-aware), end
and the hosts' SLA (Aurora's safe domain and probes) for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aurora_provider.api import models as m
from aurora_provider.framework.http.deps import Caller, Services
from aurora_provider.framework.operations.maintenance import HostStatus
from aurora_provider.framework.operations.sla_domain import HostSla, JobLimit

router = APIRouter(prefix="/api/v1/maintenance", tags=["maintenance"])


def _hosts(found: list[HostStatus]) -> m.HostStatusList:
    return m.HostStatusList(hosts=[m.HostStatusModel(
        host=h.host, mode=h.mode, percentage=h.percentage, active_tasks=h.active_tasks,
        sla_duration_secs=h.sla_duration_secs, force_drain_at=h.force_drain_at,
        sla_holds=h.sla_holds) for h in found])


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


@router.post("/sla_drain", response_model=m.HostStatusList)
def sla_drain(body: m.SlaDrainRequest, services: Services, user: Caller) -> m.HostStatusList:
    """Drain under each job's SLA policy (``percentage`` over ``duration_secs`` for jobs
    without one), regardless of SLAs after ``timeout_secs``."""
    user.require_admin("drain hosts")
    return _hosts(services.maintenance.sla_drain(body.hosts, body.percentage,
                                                 body.duration_secs, body.timeout_secs))


@router.post("/sla", response_model=m.SlaHostList)
def sla_hosts(body: m.SlaHostsRequest, services: Services, user: Caller) -> m.SlaHostList:
    """Each host's jobs as if the host went down: their predicted SLA and whether it holds."""
    user.require_admin("probe the hosts' SLA")
    limits = {_job_path(k): JobLimit(v.percentage, v.duration_secs)
              for k, v in body.job_limits.items()}
    found = services.sla_domain.hosts(JobLimit(body.percentage, body.duration_secs),
                                      body.min_instance_count, body.hosts, limits)
    return m.SlaHostList(hosts=[_sla_host(services.cluster, h) for h in found])


def _job_path(key: str) -> str:
    """``role/env/name`` of a key with or without its cluster."""
    parts = key.strip("/").split("/")
    return "/".join(parts[1:] if len(parts) == 4 else parts)


def _sla_host(cluster: str, h: HostSla) -> m.SlaHostModel:
    return m.SlaHostModel(host=h.host, safe=h.safe, jobs=[m.SlaJobOnHost(
        job=f"{cluster}/{j.job_key}", predicted_percentage=j.predicted_percentage,
        safe=j.safe, safe_in_secs=j.safe_in_secs, percentage=j.limit.percentage,
        duration_secs=j.limit.duration_secs) for j in h.jobs])
