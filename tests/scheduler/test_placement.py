"""Placement on offers: resources, overhead, ports, constraints, dedicated, plug-ins."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from aurora_provider.framework.model.job_config import LimitConstraint, ValueConstraint
from aurora_provider.framework.placement.demand import Demand, demand_of
from aurora_provider.framework.placement.offers import Offer, Overhead
from aurora_provider.framework.placement.placer import AttributeCounts, PendingTask, Placer
from tests.fakes import typed

pytestmark = pytest.mark.unit


def offer(name: str, cpu: float = 4, ram: float = 4096, **attributes: str) -> Offer:
    return Offer(f"o-{name}", f"a-{name}", name, cpu, ram, 4096,
                 port_ranges=[(31000, 31009)], attributes=dict(attributes))


def demand(*constraints: object, ports: tuple[str, ...] = (), cpu: float = 1,
           role: str = "www") -> Demand:
    return Demand("www/prod/x", role, cpu, 128, 128, 0, ports,
                  tuple(constraints))  # type: ignore[arg-type]


def place(d: Demand, offers: list[Offer], n: int, placer: Placer | None = None
          ) -> list[str]:
    placer = placer or Placer(rng=random.Random(1))
    result = placer.place([PendingTask(f"t{i}", 1) for i in range(n)], {1: d}, offers,
                          AttributeCounts())
    return [a.hostname for a in result.assignments]


def test_wire_demand_adds_the_executor_overhead() -> None:
    wire = {"key": {"cluster": "c", "role": "www", "environment": "prod", "name": "x"},
            "instances": 1, "task": {
                "resources": {"cpu": 1.0, "ram_mb": 256, "disk_mb": 512, "gpu": 0},
                "requested_ports": ["http"], "executor_config": {"data": "{}"},
                "constraints": [{"name": "rack", "limit": 1},
                                {"name": "zone", "values": ["a"], "negated": True}]}}
    d = demand_of(typed(wire), Overhead(0.25, 128, 0))
    assert (d.cpu, d.ram_mb, d.disk_mb, d.ports) == (1.25, 384, 512, ("http",))
    assert d.constraints == (LimitConstraint("rack", 1),
                             ValueConstraint("zone", frozenset({"a"}), True))


def test_first_fit_until_resources_run_out() -> None:
    assert place(demand(), [offer("a", cpu=2), offer("b", cpu=1)], 4) == ["a", "a", "b"]


def test_a_batch_fills_the_offers_it_opened_and_defers_the_rest() -> None:
    placer = Placer(rng=random.Random(1))
    offers = [offer("a", cpu=3), offer("b", cpu=3), offer("c", cpu=3)]
    result = placer.place([PendingTask(f"t{i}", 1) for i in range(8)], {1: demand()}, offers,
                          AttributeCounts(), batch=2)
    # Two tasks fill the batch inside offer a; a's third slot is still used (it is accepted
    # whole), b is never opened, and the five tasks left wait for the next round unvetoed.
    assert [a.hostname for a in result.assignments] == ["a", "a", "a"]
    assert result.deferred and result.vetoes == {}
    assert (offers[1].cpu, offers[2].cpu) == (3, 3)


def test_ports_are_distinct_and_from_the_ranges() -> None:
    placer = Placer(rng=random.Random(7))
    o = offer("a")
    result = placer.place([PendingTask(f"t{i}", 1) for i in range(6)],
                          {1: demand(ports=("http", "admin"), cpu=0.1)}, [o],
                          AttributeCounts())
    ports = [p for a in result.assignments for p in a.ports.values()]
    assert len(result.assignments) == 5  # ten ports in the range, two per task
    assert len(set(ports)) == 10 and all(31000 <= p <= 31009 for p in ports)
    assert result.vetoes == {"t5": "Insufficient: ports"}


def test_value_constraints() -> None:
    def offers() -> list[Offer]:
        return [offer("a", zone="east"), offer("b", zone="west"), offer("c")]

    west = demand(ValueConstraint("zone", frozenset({"west"})))
    assert place(west, offers(), 3) == ["b", "b", "b"]
    negated = demand(ValueConstraint("zone", frozenset({"east"}), negated=True), cpu=4)
    assert place(negated, offers(), 3) == ["b", "c"]
    by_host = demand(ValueConstraint("host", frozenset({"c"})))
    assert place(by_host, offers(), 1) == ["c"]


def test_limit_constraint_counts_running_tasks() -> None:
    offers = [offer("a", rack="1"), offer("b", rack="1"), offer("c", rack="2")]
    d = demand(LimitConstraint("host", 1))
    assert place(d, offers, 4) == ["a", "b", "c"]
    counts = AttributeCounts()
    counts.add("www/prod/x", {"rack": "1"}, "a")
    result = Placer().place([PendingTask("t", 1)], {1: demand(LimitConstraint("rack", 1))},
                            offers, counts)
    assert [a.hostname for a in result.assignments] == ["c"]


def test_dedicated_hosts_are_exclusive_both_ways() -> None:
    offers = [offer("shared"), offer("mine", dedicated="www/db"),
              offer("theirs", dedicated="ads/db")]
    assert place(demand(cpu=4), offers, 3) == ["shared"]
    mine = demand(ValueConstraint("dedicated", frozenset({"www/db"})), cpu=4)
    assert place(mine, offers, 3) == ["mine"]
    theirs = demand(ValueConstraint("dedicated", frozenset({"ads/db"})), cpu=4)
    assert place(theirs, offers, 3) == []
    anyone = demand(ValueConstraint("dedicated", frozenset({"*/gpu"})), cpu=4)
    assert place(anyone, [*offers, offer("gpu", dedicated="*/gpu")], 2) == ["gpu"]


def test_offer_order_and_filters_plug_in() -> None:
    offers = [offer("a"), offer("b"), offer("c")]

    def reverse(found: Sequence[Offer]) -> list[Offer]:
        return list(reversed(found))

    def no_b(o: Offer, _: Demand) -> str | None:
        return "maintenance" if o.hostname == "b" else None

    placer = Placer(order=reverse, filters=[no_b])
    assert place(demand(cpu=4), offers, 3, placer) == ["c", "a"]
