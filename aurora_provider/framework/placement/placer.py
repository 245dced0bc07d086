"""First-fit placement of pending tasks on offers.

First fit over offers in the order an ``OfferOrder`` gives, after every ``OfferFilter`` had its
say (maintenance plugs in there). A task needs its resources plus the executor overhead, its
named ports picked at random from the offer's ranges, and its value, limit and dedicated
constraints satisfied by the agent's attributes.

Resources only shrink during a round, so an offer that did not fit one task of a group (tasks
sharing a configuration) will not fit the next one either: each group keeps a cursor, which
keeps a round linear in tasks plus offers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aurora_provider.framework.model.job_config import DEDICATED, LimitConstraint
from aurora_provider.framework.placement.demand import Demand
from aurora_provider.framework.placement.offers import HOST, Offer


class OfferOrder(Protocol):
    """Orders offers before first fit (maintenance puts scheduled hosts last)."""

    def __call__(self, offers: Sequence[Offer], /) -> list[Offer]: ...


class OfferFilter(Protocol):
    """Why an offer must not take tasks of this demand, or None (maintenance)."""

    def __call__(self, offer: Offer, demand: Demand, /) -> str | None: ...


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
        value = offer.attribute(c.name)
        if isinstance(c, LimitConstraint):
            if value is not None and counts.get(demand.job_key, c.name, value) >= c.limit:
                return f"Limit not satisfied: {c.name}"
            continue
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
    deferred: bool = False  # tasks were left untried: the batch was full


class Placer:
    """First-fit placement with an offer order and offer filters given at construction."""

    def __init__(self, *, order: OfferOrder = keep_order, filters: Sequence[OfferFilter] = (),
                 rng: random.Random | None = None) -> None:
        self._order = order
        self.filters: tuple[OfferFilter, ...] = tuple(filters)
        self._rng = rng or random.Random()

    def filtered(self, offer: Offer, demand: Demand) -> str | None:
        """The first filter's veto of ``offer`` for ``demand``, or None."""
        for plug in self.filters:
            reason = plug(offer, demand)
            if reason is not None:
                return reason
        return None

    def place(self, pending: Iterable[PendingTask], demands: Mapping[int, Demand],
              offers: Sequence[Offer], counts: AttributeCounts,
              batch: int | None = None) -> PlacementResult:
        """First fit of ``pending`` on ``offers``. With ``batch``, once that many tasks are
        placed no further offer is opened: the offers already taken are filled (each is
        accepted whole, so a half-used one would waste its rest until it is offered again)
        and the tasks not tried are left for the next round (``deferred``). ``pending`` is
        read only as far as it is tried, so a lazy iterable costs nothing past the batch."""
        ordered = self._order(offers)
        result = PlacementResult()
        cursors: dict[int, int] = {}
        opened: set[str] = set()
        for task in pending:
            demand = demands[task.group]
            index = cursors.get(task.group, 0)
            reason = "No offers"
            while index < len(ordered):
                reason = self.filtered(ordered[index], demand) or \
                    veto(ordered[index], demand, counts) or ""
                if not reason:
                    break
                index += 1
            cursors[task.group] = index
            if index >= len(ordered):
                result.vetoes[task.task_id] = reason or "No offers"
                continue
            offer = ordered[index]
            if batch is not None and len(result.assignments) >= batch and \
                    offer.offer_id not in opened:
                result.deferred = True
                break
            opened.add(offer.offer_id)
            _take(offer, demand)
            ports = pick_ports(offer, demand.ports, self._rng)
            counts.add(demand.job_key, offer.attributes, offer.hostname)
            result.assignments.append(
                Assignment(task.task_id, offer.agent_id, offer.hostname, offer.offer_id, ports))
        return result
