"""Role quotas: read by anyone with a token, set by admins."""

from __future__ import annotations

from fastapi import APIRouter

from aurora_provider.api import models as m
from aurora_provider.framework.http.deps import ApiServices, Caller, Role, Services
from aurora_provider.framework.model.job_config import Resources

router = APIRouter(prefix="/api/v1/quotas", tags=["quotas"])


def _amounts(r: Resources) -> m.ResourceAmounts:
    return m.ResourceAmounts(cpu=r.cpu, ram_mb=r.ram_mb, disk_mb=r.disk_mb)


def report(services: ApiServices, role: str) -> m.QuotaReport:
    used = services.quotas.consumption(role)
    return m.QuotaReport(role=role, quota=_amounts(services.quotas.quota(role)),
                         production=_amounts(used.production),
                         non_production=_amounts(used.non_production))


@router.get("/{role}", response_model=m.QuotaReport)
def quota(role: Role, services: Services, user: Caller) -> m.QuotaReport:
    return report(services, role)


@router.put("/{role}", response_model=m.QuotaReport)
def put_quota(role: Role, body: m.ResourceAmounts, services: Services,
              user: Caller) -> m.QuotaReport:
    user.require_admin("set quotas")
    services.quotas.set(role, Resources(body.cpu, body.ram_mb, body.disk_mb))
    return report(services, role)


@router.post("/{role}/increase", response_model=m.QuotaReport)
def increase_quota(role: Role, body: m.ResourceAmounts, services: Services,
                   user: Caller) -> m.QuotaReport:
    user.require_admin("increase quotas")
    services.quotas.set(role, Resources(body.cpu, body.ram_mb, body.disk_mb), increase=True)
    return report(services, role)
