"""Role quotas: read by anyone with a token, set by admins."""

from __future__ import annotations

import math

from fastapi import APIRouter

from aurora_provider.api import models as m
from aurora_provider.api.models.operations import MAX_QUOTA_CPU, MAX_QUOTA_MB
from aurora_provider.framework.http.deps import ApiServices, Caller, Role, Services
from aurora_provider.framework.model.job_config import Resources

router = APIRouter(prefix="/api/v1/quotas", tags=["quotas"])


def _amounts(r: Resources) -> m.ResourceAmounts:
    return m.ResourceAmounts(cpu=_finite(r.cpu, MAX_QUOTA_CPU),
                             ram_mb=_finite(r.ram_mb, MAX_QUOTA_MB),
                             disk_mb=_finite(r.disk_mb, MAX_QUOTA_MB))


def _finite(amount: float, largest: float) -> float:
    """A quota stored before quotas were bounded may be infinite or NaN (no limit, since
    nothing compares above it): answer it as the largest quota, which JSON can carry."""
    return amount if math.isfinite(amount) else largest


def report(services: ApiServices, role: str) -> m.QuotaReport:
    used = services.quotas.consumption(role)
    return m.QuotaReport(role=role, quota=_amounts(services.quotas.quota(role)),
                         production=_amounts(used.production),
                         non_production=_amounts(used.non_production))


@router.get("/{role}", response_model=m.QuotaReport)
def quota(role: Role, services: Services, user: Caller) -> m.QuotaReport:
    return report(services, role)


@router.put("/{role}", response_model=m.QuotaReport)
def put_quota(role: Role, body: m.QuotaRequest, services: Services,
              user: Caller) -> m.QuotaReport:
    user.require_admin("set quotas")
    services.quotas.set(role, Resources(body.cpu, body.ram_mb, body.disk_mb))
    return report(services, role)


@router.post("/{role}/increase", response_model=m.QuotaReport)
def increase_quota(role: Role, body: m.QuotaRequest, services: Services,
                   user: Caller) -> m.QuotaReport:
    user.require_admin("increase quotas")
    services.quotas.set(role, Resources(body.cpu, body.ram_mb, body.disk_mb), increase=True)
    return report(services, role)
