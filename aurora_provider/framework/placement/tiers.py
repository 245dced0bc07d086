"""Aurora's task tiers (``tiers.json``): preferred, preemptible (the default), revocable.

A job names its tier with ``tier``; without one, ``production=True`` means preferred, as in
Aurora. Preferred tasks consume quota and may preempt preemptible ones; revocable tasks are
also preemptible (the embedded backend offers no revocable resources, so they are placed on
ordinary offers).
"""

from __future__ import annotations

from dataclasses import dataclass

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.model.job_config import TaskConfig


@dataclass(frozen=True)
class Tier:
    name: str
    preemptible: bool
    revocable: bool


PREFERRED = Tier("preferred", preemptible=False, revocable=False)
PREEMPTIBLE = Tier("preemptible", preemptible=True, revocable=False)
REVOCABLE = Tier("revocable", preemptible=True, revocable=True)
TIERS: dict[str, Tier] = {t.name: t for t in (PREFERRED, PREEMPTIBLE, REVOCABLE)}
DEFAULT_TIER = PREEMPTIBLE


def tier_of(task: TaskConfig) -> Tier:
    """The tier of a task configuration; InvalidRequest names an unknown one."""
    if not task.tier:
        return PREFERRED if task.production else DEFAULT_TIER
    found = TIERS.get(task.tier)
    if found is None:
        raise InvalidRequest(f"tier {task.tier!r} is not one of {', '.join(sorted(TIERS))}")
    return found


def consumes_quota(task: TaskConfig) -> bool:
    """Aurora: production (preferred-tier) tasks use their role's quota, unless dedicated."""
    return tier_of(task) is PREFERRED and not task.is_dedicated
