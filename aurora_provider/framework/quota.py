"""Per-role production quotas (cpu, ram, disk), as Aurora's ``QuotaManager`` kept them.

Preferred-tier (production) tasks that are not on dedicated hosts consume their role's quota;
a role without a quota has none. Consumption is the active tasks of the role's jobs plus the
templates of its cron jobs (a cron job counts once, for its template, whether it runs or not).
``check_quota`` is what create, add-instances, cron schedule and update start call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.errors import Conflict, InvalidRequest
from aurora_provider.framework.storage.ops_tables import cron_jobs, quotas
from aurora_provider.framework.tiers import consumes_quota, tier_of

_EPSILON = 1e-9


class QuotaExceeded(Conflict):
    code = "QUOTA_EXCEEDED"


@dataclass(frozen=True)
class Resources:
    cpu: float = 0.0
    ram_mb: float = 0.0
    disk_mb: float = 0.0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.ram_mb + other.ram_mb,
                         self.disk_mb + other.disk_mb)

    def times(self, n: int) -> Resources:
        return Resources(self.cpu * n, self.ram_mb * n, self.disk_mb * n)


def task_resources(job: Mapping[str, Any]) -> Resources:
    """One instance's resources (without the executor overhead, as Aurora's quota)."""
    res = job["task"]["resources"]
    return Resources(float(res["cpu"]), float(res["ram_mb"]), float(res["disk_mb"]))


@dataclass(frozen=True)
class Consumption:
    production: Resources
    non_production: Resources


def _role(job_key: str) -> str:
    return job_key.split("/", 1)[0]


def get_quota(core: Scheduler, role: str) -> Resources:
    with core.store.engine.connect() as conn:
        row = conn.execute(sa.select(quotas).where(quotas.c.role == role)).first()
    return Resources(row.cpu, row.ram_mb, row.disk_mb) if row is not None else Resources()


def set_quota(core: Scheduler, role: str, amount: Resources, *, increase: bool = False
              ) -> Resources:
    """Set (or add to) a role's quota; returns the new quota."""
    if min(amount.cpu, amount.ram_mb, amount.disk_mb) < 0:
        raise InvalidRequest(f"quota for role {role!r}: amounts must not be negative")
    with core.lock, core.store.transaction() as tx:
        conn = tx.connection
        row = conn.execute(sa.select(quotas).where(quotas.c.role == role)).first()
        if increase and row is not None:
            amount = amount + Resources(row.cpu, row.ram_mb, row.disk_mb)
        conn.execute(quotas.delete().where(quotas.c.role == role))
        conn.execute(quotas.insert().values(role=role, cpu=amount.cpu, ram_mb=amount.ram_mb,
                                            disk_mb=amount.disk_mb, updated_at=core.clock()))
    return amount


def consumption(core: Scheduler, role: str, *, exclude_job: str | None = None) -> Consumption:
    """What ``role`` uses now (``exclude_job``, role/env/name, left out: it is being replaced)."""
    prod, other = Resources(), Resources()
    with core.store.engine.connect() as conn:
        templates = {r.job_key: json.loads(r.config) for r in conn.execute(
            sa.select(cron_jobs.c.job_key, cron_jobs.c.config).where(
                cron_jobs.c.job_key.like(f"{role}/%")))}
    for job_key, config in templates.items():
        if job_key == exclude_job:
            continue
        used = task_resources(config).times(int(config["instances"]))
        if consumes_quota(config["task"]):
            prod = prod + used
        else:
            other = other + used
    with core.lock:
        rows = [r for r in core.cache.by_id.values() if _role(r.job_key) == role]
    for row in rows:
        if row.job_key == exclude_job or row.job_key in templates:
            continue
        config = core.store.config(row.config_id)
        if consumes_quota(config["task"]):
            prod = prod + task_resources(config)
        else:
            other = other + task_resources(config)
    return Consumption(prod, other)


def check_quota(core: Scheduler, job: Mapping[str, Any], instances: int, *,
                replaces: str | None = None) -> None:
    """Refuse (``QuotaExceeded``) ``instances`` more instances of ``job`` (a wire form) when
    its role's production quota cannot hold them.

    ``replaces`` (role/env/name) drops that job's current use first: the update controller
    passes the job it updates, with the new configuration and its full instance count.
    Also refuses an unknown tier (``InvalidRequest``).
    """
    task = job["task"]
    tier_of(task)
    if not consumes_quota(task):
        return
    role = str(job["key"]["role"])
    quota = get_quota(core, role)
    used = consumption(core, role, exclude_job=replaces).production
    wanted = task_resources(job).times(instances)
    total = used + wanted
    over = []
    for name, unit, limit, value, in_use, asked in (
            ("cpu", " cores", quota.cpu, total.cpu, used.cpu, wanted.cpu),
            ("ram", " MB", quota.ram_mb, total.ram_mb, used.ram_mb, wanted.ram_mb),
            ("disk", " MB", quota.disk_mb, total.disk_mb, used.disk_mb, wanted.disk_mb)):
        if value > limit + _EPSILON:
            over.append(f"{name} by {value - limit:g}{unit} (quota {limit:g}, in use "
                        f"{in_use:g}, requested {asked:g})")
    if over:
        raise QuotaExceeded(f"insufficient production quota for role {role!r}: "
                            + "; ".join(over))
