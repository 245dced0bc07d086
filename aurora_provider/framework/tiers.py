"""Aurora's task tiers (``tiers.json``): preferred, preemptible (the default), revocable.

A job names its tier with ``tier``; without one, ``production=True`` means preferred, as in
Aurora. Preferred tasks consume quota and may preempt preemptible ones; revocable tasks are
also preemptible (the embedded backend offers no revocable resources, so they are placed on
ordinary offers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aurora_provider.framework.errors import InvalidRequest


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


def tier_of(task: Mapping[str, Any]) -> Tier:
    """The tier of a task configuration (the ``task`` part of a job's wire form)."""
    name = task.get("tier")
    if not name:
        return PREFERRED if task.get("production") else DEFAULT_TIER
    found = TIERS.get(str(name))
    if found is None:
        raise InvalidRequest(f"tier {name!r} is not one of {', '.join(sorted(TIERS))}")
    return found


def is_dedicated(task: Mapping[str, Any]) -> bool:
    return any(c.get("name") == "dedicated" for c in task.get("constraints") or [])


def consumes_quota(task: Mapping[str, Any]) -> bool:
    """Aurora: production (preferred-tier) tasks use their role's quota, unless dedicated."""
    return tier_of(task) is PREFERRED and not is_dedicated(task)
