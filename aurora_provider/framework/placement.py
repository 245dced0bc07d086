"""Matching pending tasks to resource offers.

First fit over offers in the order an ``OfferOrder`` gives, after every ``OfferFilter`` had its
say (maintenance, preemption and quotas plug in there). A task needs its resources plus the
executor overhead, its named ports picked at random from the offer's ranges, and its value,
limit and dedicated constraints satisfied by the agent's attributes.

Resources only shrink during a round, so an offer that did not fit one task of a group (tasks
sharing a configuration) will not fit the next one either: each group keeps a cursor, which
keeps a round linear in tasks plus offers.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEDICATED = "dedicated"
HOST = "host"  # every agent's hostname is also the attribute "host", as in Aurora


@dataclass
class Offer:
    """Resources an agent offers; mutated as tasks are placed on it during a round."""

    offer_id: str
    agent_id: str
    hostname: str
    cpu: float
    ram_mb: float
    disk_mb: float
    gpu: int = 0
    port_ranges: list[tuple[int, int]] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    used_ports: set[int] = field(default_factory=set)

    def attribute(self, name: str) -> str | None:
        return self.hostname if name == HOST else self.attributes.get(name)

    def free_port_count(self) -> int:
        total = sum(end - begin + 1 for begin, end in self.port_ranges)
        return total - len(self.used_ports)


@dataclass(frozen=True)
class Overhead:
    """What the executor itself needs on top of every task (Aurora: 0.25 CPU, 128 MB)."""

    cpu: float = 0.25
    ram_mb: float = 128.0
    disk_mb: float = 0.0


@dataclass(frozen=True)
class ValueConstraint:
    name: str
    values: frozenset[str]
    negated: bool = False


@dataclass(frozen=True)
class LimitConstraint:
    name: str
    limit: int


Constraint = ValueConstraint | LimitConstraint


@dataclass(frozen=True)
class Demand:
    """What every task of one group needs (derived from its wire configuration)."""

    job_key: str
    role: str
    cpu: float
    ram_mb: float
    disk_mb: float
    gpu: int
    ports: tuple[str, ...]
    constraints: tuple[Constraint, ...]

    @property
    def dedicated(self) -> ValueConstraint | None:
        for c in self.constraints:
            if isinstance(c, ValueConstraint) and c.name == DEDICATED:
                return c
        return None


def demand_from_wire(job_key: str, wire: Mapping[str, Any], overhead: Overhead) -> Demand:
    """Read the placement-relevant fields of a job's wire form, adding the overhead."""
    task = wire["task"]
    res = task["resources"]
    constraints: list[Constraint] = []
    for c in task.get("constraints") or []:
        if "limit" in c:
            constraints.append(LimitConstraint(c["name"], int(c["limit"])))
        else:
            constraints.append(ValueConstraint(
                c["name"], frozenset(c.get("values") or []), bool(c.get("negated", False))))
    return Demand(
        job_key=job_key,
        role=wire["key"]["role"],
        cpu=float(res["cpu"]) + overhead.cpu,
        ram_mb=float(res["ram_mb"]) + overhead.ram_mb,
        disk_mb=float(res["disk_mb"]) + overhead.disk_mb,
        gpu=int(res.get("gpu", 0)),
        ports=tuple(task.get("requested_ports") or []),
        constraints=tuple(constraints),
    )


# Orders offers before first fit (e.g. maintenance pushes draining hosts last).
OfferOrder = Callable[[Sequence[Offer]], list[Offer]]
# Returns a veto reason when an offer must not take tasks of this demand, else None
# (e.g. maintenance, preemption reservations, quota).
OfferFilter = Callable[[Offer, Demand], str | None]


def keep_order(offers: Sequence[Offer]) -> list[Offer]:
    return list(offers)


@dataclass(frozen=True)
class PendingTask:
    task_id: str
    group: int  # tasks of one group share a Demand (their configuration id)


@dataclass(frozen=True)
class Assignment:
    task_id: str
    agent_id: str
    hostname: str
    offer_id: str
    ports: dict[str, int]


class AttributeCounts:
    """Active tasks per (job, attribute name, attribute value), for limit constraints."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], int] = {}

    def add(self, job_key: str, attributes: Mapping[str, str], hostname: str) -> None:
        for name, value in [*attributes.items(), (HOST, hostname)]:
            key = (job_key, name, value)
            self._counts[key] = self._counts.get(key, 0) + 1

    def get(self, job_key: str, name: str, value: str) -> int:
        return self._counts.get((job_key, name, value), 0)


def veto(offer: Offer, demand: Demand, counts: AttributeCounts) -> str | None:
    """Why ``offer`` cannot take one more task of ``demand`` now, or None if it can."""
    if offer.cpu < demand.cpu:
        return "Insufficient: cpu"
    if offer.ram_mb < demand.ram_mb:
        return "Insufficient: ram"
    if offer.disk_mb < demand.disk_mb:
        return "Insufficient: disk"
    if offer.gpu < demand.gpu:
        return "Insufficient: gpu"
    if demand.ports and offer.free_port_count() < len(demand.ports):
        return "Insufficient: ports"
    agent_dedicated = offer.attributes.get(DEDICATED)
    wanted = demand.dedicated
    if agent_dedicated is not None and (wanted is None or agent_dedicated not in wanted.values):
        return "Constraint not satisfied: dedicated (the host is reserved)"
    for c in demand.constraints:
        if isinstance(c, LimitConstraint):
            value = offer.attribute(c.name)
            if value is not None and counts.get(demand.job_key, c.name, value) >= c.limit:
                return f"Limit not satisfied: {c.name}"
            continue
        value = offer.attribute(c.name)
        if c.name == DEDICATED and value is not None:
            owner = value.split("/", 1)[0]
            if owner not in ("*", demand.role):
                return "Constraint not satisfied: dedicated (another role's host)"
        matched = value is not None and value in c.values
        if matched == c.negated:
            return f"Constraint not satisfied: {c.name}"
    return None


def pick_ports(offer: Offer, names: Iterable[str], rng: random.Random) -> dict[str, int]:
    """Random free ports from the offer's ranges (Aurora shuffles them too)."""
    chosen: dict[str, int] = {}
    for name in names:
        while True:
            begin, end = rng.choice(offer.port_ranges)
            port = rng.randint(begin, end)
            if port not in offer.used_ports:
                offer.used_ports.add(port)
                chosen[name] = port
                break
    return chosen


def _take(offer: Offer, demand: Demand) -> None:
    offer.cpu -= demand.cpu
    offer.ram_mb -= demand.ram_mb
    offer.disk_mb -= demand.disk_mb
    offer.gpu -= demand.gpu


@dataclass
class PlacementResult:
    assignments: list[Assignment] = field(default_factory=list)
    vetoes: dict[str, str] = field(default_factory=dict)  # unplaced task id -> last reason


class Placer:
    """First-fit placement with a pluggable offer order and offer filters."""

    def __init__(self, *, order: OfferOrder = keep_order,
                 filters: Sequence[OfferFilter] = (),
                 rng: random.Random | None = None) -> None:
        self.order = order
        self.filters = list(filters)
        self.rng = rng or random.Random()

    def place(self, pending: Sequence[PendingTask], demands: Mapping[int, Demand],
              offers: Sequence[Offer], counts: AttributeCounts) -> PlacementResult:
        ordered = self.order(offers)
        result = PlacementResult()
        cursors: dict[int, int] = {}
        for task in pending:
            demand = demands[task.group]
            index = cursors.get(task.group, 0)
            reason = "No offers"
            while index < len(ordered):
                offer = ordered[index]
                reason = self._veto(offer, demand, counts) or ""
                if not reason:
                    break
                index += 1
            cursors[task.group] = index
            if index >= len(ordered):
                result.vetoes[task.task_id] = reason or "No offers"
                continue
            offer = ordered[index]
            _take(offer, demand)
            ports = pick_ports(offer, demand.ports, self.rng)
            counts.add(demand.job_key, offer.attributes, offer.hostname)
            result.assignments.append(
                Assignment(task.task_id, offer.agent_id, offer.hostname, offer.offer_id, ports))
        return result

    def _veto(self, offer: Offer, demand: Demand, counts: AttributeCounts) -> str | None:
        for plug in self.filters:
            reason = plug(offer, demand)
            if reason is not None:
                return reason
        return veto(offer, demand, counts)
