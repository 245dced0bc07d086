"""Per-role production quotas (cpu, ram, disk), as Aurora's ``QuotaManager`` kept them.

Production-tier tasks (``preferred`` in Aurora's tiers: neither preemptible nor revocable)
that are not on dedicated hosts consume their role's quota; a role without a quota has none.
Consumption is the active tasks of the role's jobs plus the templates of its cron jobs (a
cron job counts once, for its template, whether it runs or not).
``check`` is what create, add-instances, cron schedule and update start call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aurora_provider.api.errors import InvalidRequest, QuotaExceeded
from aurora_provider.api.models.operations import MAX_QUOTA_CPU, MAX_QUOTA_MB
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.model.job_config import JobConfig, Resources
from aurora_provider.framework.placement.tiers import TierTable
from aurora_provider.framework.storage.store import Store

_EPSILON = 1e-9
NONE = Resources(0.0, 0.0, 0.0)


def plus(a: Resources, b: Resources) -> Resources:
    return Resources(a.cpu + b.cpu, a.ram_mb + b.ram_mb, a.disk_mb + b.disk_mb)


def times(r: Resources, n: int) -> Resources:
    return Resources(r.cpu * n, r.ram_mb * n, r.disk_mb * n)


def _check_bounds(role: str, amount: Resources) -> None:
    """Nothing infinite or beyond the API's bounds is stored (an increase adds up)."""
    for name, value, largest, unit in (("cpu", amount.cpu, MAX_QUOTA_CPU, " cores"),
                                       ("ram_mb", amount.ram_mb, MAX_QUOTA_MB, " MB"),
                                       ("disk_mb", amount.disk_mb, MAX_QUOTA_MB, " MB")):
        if not math.isfinite(value) or value > largest:
            raise InvalidRequest(f"quota for role {role!r}: {name} would be {value:g}{unit}, "
                                 f"more than the largest quota, {largest:g}{unit}; set it "
                                 "with set-quota instead")


@dataclass(frozen=True)
class Consumption:
    production: Resources
    non_production: Resources


class Quotas:
    def __init__(self, ledger: TaskLedger, store: Store, tiers: TierTable) -> None:
        self._ledger = ledger
        self._tiers = tiers
        self._store = store

    @property
    def tiers(self) -> TierTable:
        """The tiers this scheduler accepts (the Thrift API's getTierConfigs reads them)."""
        return self._tiers

    def quota(self, role: str) -> Resources:
        return self._store.quotas.quota(role)

    def set(self, role: str, amount: Resources, *, increase: bool = False) -> Resources:
        """Set (or add to) a role's quota; the new quota."""
        if min(amount.cpu, amount.ram_mb, amount.disk_mb) < 0:
            raise InvalidRequest(f"quota for role {role!r}: amounts must not be negative")
        with self._ledger.lock, self._store.transaction() as tx:
            if increase:
                amount = plus(amount, self._store.quotas.quota_in(tx, role))
            _check_bounds(role, amount)
            self._store.quotas.save(tx, role, amount, self._ledger.now())
        return amount

    def consumption(self, role: str, *, exclude_job: str | None = None) -> Consumption:
        """What ``role`` uses now (``exclude_job``, role/env/name, left out: it is being
        replaced)."""
        prod, other = NONE, NONE
        templates = {t.job_key: t.config for t in self._store.cron.templates_of_role(role)}
        for job_key, config in templates.items():
            if job_key == exclude_job:
                continue
            used = times(config.task.resources, config.instances)
            if self._tiers.admitted_consumes_quota(config.task):
                prod = plus(prod, used)
            else:
                other = plus(other, used)
        for row in self._ledger.all_active():
            if row.job_key.split("/", 1)[0] != role or row.job_key == exclude_job or \
                    row.job_key in templates:
                continue
            task = self._ledger.config(row.config_id).task
            if self._tiers.admitted_consumes_quota(task):
                prod = plus(prod, task.resources)
            else:
                other = plus(other, task.resources)
        return Consumption(prod, other)

    def check(self, config: JobConfig, instances: int, *, replaces: str | None = None) -> None:
        """Refuse (``QuotaExceeded``) ``instances`` more instances of ``config`` when its
        role's production quota cannot hold them; also refuse an unknown tier.

        ``replaces`` (role/env/name) drops that job's current use first: the update
        controller passes the job it updates, with its full new instance count.
        """
        if not self._tiers.consumes_quota(config.task):  # an unknown tier raises here too
            return
        role = config.key.role
        quota = self.quota(role)
        used = self.consumption(role, exclude_job=replaces).production
        wanted = times(config.task.resources, instances)
        total = plus(used, wanted)
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
