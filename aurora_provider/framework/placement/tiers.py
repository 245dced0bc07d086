"""Aurora's task tiers, from a ``tiers.json`` (``aurora-scheduler --tier-config FILE``).

A tier is a name with two traits: ``preemptible`` (its tasks may be evicted for a
production task) and ``revocable`` (its tasks may run on revocable resources; the embedded
backend offers none, so they are placed on ordinary offers). A tier with neither is a
production tier: its non-dedicated tasks consume their role's quota, as in Aurora.

The file is Aurora's format::

    {"default": "preemptible",
     "tiers": {"preferred": {"preemptible": false, "revocable": false}, ...}}

Without the flag the table is Aurora's own default file (``AURORA_TIERS``). A job names its
tier with ``tier``; without one it gets the default tier, except that the deprecated
``production=True`` means the ``preferred`` tier (see docs/decisions.md, "Tiers").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.errors import SchedulerError, json_file
from aurora_provider.framework.model.job_config import TaskConfig

# What ``production=True`` without a tier stands for.
PRODUCTION_TIER = "preferred"
TRAITS = ("preemptible", "revocable")


@dataclass(frozen=True)
class Tier:
    name: str
    preemptible: bool
    revocable: bool

    @property
    def production(self) -> bool:
        """Aurora: a tier that is neither preemptible nor revocable is production."""
        return not (self.preemptible or self.revocable)


class TierTable:
    """The tiers this scheduler accepts, and which one a task configuration is in.

    :param default: the tier of a task that names none (and is not ``production``).
    :param tiers: every tier, by name; ``default`` must be among them.
    """

    def __init__(self, default: str, tiers: Mapping[str, Tier]) -> None:
        if default not in tiers:
            raise ValueError(f"default tier {default!r} is not one of {_names(tiers)}")
        self.default = tiers[default]
        self.tiers: Mapping[str, Tier] = MappingProxyType(dict(tiers))

    def names(self) -> list[str]:
        return sorted(self.tiers)

    def tier_of(self, task: TaskConfig) -> Tier:
        """The tier of a task configuration; InvalidRequest names an unknown one."""
        name = task.tier
        if not name:
            if not task.production:
                return self.default
            name = PRODUCTION_TIER
        found = self.tiers.get(name)
        if found is not None:
            return found
        if not task.tier:
            raise InvalidRequest(f"production=True means tier {PRODUCTION_TIER!r}, which this "
                                 f"scheduler does not have: set tier to one of "
                                 f"{_names(self.tiers)}")
        raise InvalidRequest(f"tier {name!r} is not one of {_names(self.tiers)}")

    def admitted_tier_of(self, task: TaskConfig) -> Tier:
        """The tier of a task already taken: one admitted under an earlier tier file whose
        tier is gone is in the default tier (it runs; refusing it now would help nobody)."""
        try:
            return self.tier_of(task)
        except InvalidRequest:
            return self.default

    def consumes_quota(self, task: TaskConfig) -> bool:
        """Aurora: production-tier tasks use their role's quota, unless dedicated. Raises
        InvalidRequest for an unknown tier: call it on configurations being admitted."""
        return self.tier_of(task).production and not task.is_dedicated

    def admitted_consumes_quota(self, task: TaskConfig) -> bool:
        """``consumes_quota`` of a task already taken (``admitted_tier_of``)."""
        return self.admitted_tier_of(task).production and not task.is_dedicated


def _names(tiers: Mapping[str, Tier]) -> str:
    return ", ".join(sorted(tiers))


def table_from_json(document: Any) -> TierTable:
    """A table from a parsed ``tiers.json``; ValueError says what is wrong, in one line."""
    if not isinstance(document, dict):
        raise ValueError("expected an object with 'default' and 'tiers'")
    unknown = sorted(set(document) - {"default", "tiers"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (expected 'default' and 'tiers')")
    default, tiers = document.get("default"), document.get("tiers")
    if not isinstance(default, str) or not default:
        raise ValueError("'default' must name a tier")
    if not isinstance(tiers, dict) or not tiers:
        raise ValueError("'tiers' must be a non-empty object of name -> "
                         '{"preemptible": bool, "revocable": bool}')
    table: dict[str, Tier] = {}
    for name, traits in tiers.items():
        if not name:
            raise ValueError("a tier has an empty name")
        table[name] = _tier(name, traits)
    return TierTable(default, table)


def _tier(name: str, traits: Any) -> Tier:
    if not isinstance(traits, dict):
        raise ValueError(f"tier {name!r}: expected an object with {' and '.join(TRAITS)}")
    unknown = sorted(set(traits) - set(TRAITS))
    if unknown:
        raise ValueError(f"tier {name!r}: unknown key {unknown[0]!r} (expected "
                         f"{' and '.join(TRAITS)})")
    values = {}
    for trait in TRAITS:
        value = traits.get(trait, False)  # Aurora: a trait left out is false
        if not isinstance(value, bool):
            raise ValueError(f"tier {name!r}: {trait!r} must be true or false, not "
                             f"{json.dumps(value)}")
        values[trait] = value
    return Tier(name, preemptible=values["preemptible"], revocable=values["revocable"])


def load_tier_file(path: Path) -> TierTable:
    """``--tier-config FILE``; SchedulerError names the file and what is wrong."""
    document = json_file("--tier-config", path)
    try:
        return table_from_json(document)
    except ValueError as e:
        raise SchedulerError(f"--tier-config {path}: {e}") from e


# Aurora's default ``tiers.json``, the table when no --tier-config is given.
AURORA_TIERS = table_from_json({
    "default": "preemptible",
    "tiers": {
        "preferred": {"preemptible": False, "revocable": False},
        "preemptible": {"preemptible": True, "revocable": False},
        "revocable": {"preemptible": True, "revocable": True},
    },
})
