"""What every route depends on: the services of this scheduler, the caller behind the
bearer token (declared as the OpenAPI security scheme), and job paths checked once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.config.keys import key_part_problem
from aurora_provider.framework.backends.base import LogSource
from aurora_provider.framework.core.metrics import SchedulerMetrics
from aurora_provider.framework.http.auth import Authenticator, Principal
from aurora_provider.framework.http.stat_vars import process_started_at
from aurora_provider.framework.jobs.service import JobService
from aurora_provider.framework.operations.backups import Backups
from aurora_provider.framework.operations.cron import CronService
from aurora_provider.framework.operations.housekeeping import Housekeeping
from aurora_provider.framework.operations.maintenance import Maintenance
from aurora_provider.framework.operations.quota import Quotas
from aurora_provider.framework.operations.recovery import StagedRecovery
from aurora_provider.framework.operations.sla_domain import SlaDomain
from aurora_provider.framework.storage.jobs import StoredConfig
from aurora_provider.framework.updates.controller import UpdateController


@dataclass(frozen=True)
class ApiServices:
    """The parts of one scheduler the API calls (built by the composition root)."""

    cluster: str
    backend_name: str
    jobs: JobService
    updates: UpdateController
    cron: CronService
    quotas: Quotas
    maintenance: Maintenance
    sla_domain: SlaDomain
    backups: Backups
    housekeeping: Housekeeping
    config_history: Callable[[str, int], Sequence[StoredConfig]]  # (job path, limit)
    logs: LogSource | None
    metrics: SchedulerMetrics
    auth: Authenticator
    clock: Callable[[], float]
    is_leader: Callable[[], bool] = lambda: True
    readiness: Callable[[], str | None] = lambda: None  # why the backend cannot serve
    observer_url: str | None = None  # the agents' observers, a template with {host}
    recovery: StagedRecovery | None = None  # the daemon's; None in-process (no restart)
    started_at: float = field(default_factory=process_started_at)  # for /vars' uptime


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(_services)]

_bearer = HTTPBearer(auto_error=False, description="A token of the scheduler's auth file "
                     "(the embedded scheduler writes an admin token to ~/.aurora/token).")


def _caller(request: Request, services: Services,
            _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
            ) -> Principal:
    # The bearer dependency declares the scheme in the OpenAPI document; the header is
    # read as the body limit reads it, before any body (``limits.py``).
    return services.auth.from_header(request.headers.get("authorization"))


Caller = Annotated[Principal, Depends(_caller)]


def key_part(field: str, value: str) -> str:
    problem = key_part_problem(value)
    if problem is not None:
        raise InvalidRequest(f"{field} {value[:80]!r} {problem}")
    return value


def _job_path(role: str, environment: str, name: str) -> str:
    for part, value in (("role", role), ("environment", environment), ("name", name)):
        key_part(f"job key {part}", value)
    return f"{role}/{environment}/{name}"


# ``role/environment/name`` from the path, every part checked.
JobPath = Annotated[str, Depends(_job_path)]


def _owned_job(key: JobPath, user: Caller) -> str:
    user.require_role(key.split("/", 1)[0])
    return key


# A job path the caller may change (its role, or an admin).
OwnedJob = Annotated[str, Depends(_owned_job)]


def _role(role: str) -> str:
    return key_part("role", role)


Role = Annotated[str, Depends(_role)]
