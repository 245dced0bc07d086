"""Offers, as Mesos's hierarchical allocator makes them (without weights or quota).

Every allocation interval each connected agent's unoffered, unused resources go, agent by
agent, to the active frameworks in turn (rotating, so none starves), per role: the role
must not be suppressed, the resources must be allocatable (at least 0.01 cpus or 32 MB of
memory) and not refused by a filter, i.e. contained in what the framework declined on that
agent less than ``refuse_seconds`` ago. One OFFERS event per framework and cycle.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from tests.mesos_cluster import wire
from tests.mesos_cluster.master_state import AgentRecord, Filter, Framework, Offer
from tests.mesos_cluster.resources import Resources
from tests.mesos_cluster.wire import Json

if TYPE_CHECKING:
    from tests.mesos_cluster.master import Master

DEFAULT_REFUSE_SECONDS = 5.0  # Filters.refuse_seconds's default in mesos.proto
MAX_REFUSE_SECONDS = 365 * 86400.0
MIN_CPUS, MIN_MEM = 0.01, 32.0


def allocatable(resources: Resources) -> bool:
    return resources.scalar("cpus") >= MIN_CPUS or resources.scalar("mem") >= MIN_MEM


def refuse_seconds(filters: Json) -> float:
    seconds = float(filters.get("refuse_seconds", DEFAULT_REFUSE_SECONDS))
    if seconds < 0:
        return DEFAULT_REFUSE_SECONDS
    return min(seconds, MAX_REFUSE_SECONDS)


class Allocator:
    def __init__(self, master: Master) -> None:
        self.master = master
        self._turn = 0

    def cycle(self) -> None:
        frameworks = [f for f in self.master.frameworks.values() if f.active and f.connected]
        if not frameworks:
            return
        self._turn = (self._turn + 1) % len(frameworks)
        frameworks = frameworks[self._turn:] + frameworks[:self._turn]
        # Suppressed roles are left out before the agents are looked at: a framework that
        # suppressed offers (most of the time, for a busy one) costs a cycle nothing.
        wanting = [(f, roles) for f in frameworks
                   if (roles := [r for r in f.roles if r not in f.suppressed])]
        if not wanting:
            return
        agents = [a for a in self.master.agents.values() if a.connected]
        random.shuffle(agents)
        now = time.monotonic()
        made: dict[str, list[Offer]] = {}
        for agent in agents:
            available = agent.available()
            for framework, roles in wanting:
                if available.empty():
                    break
                for role in roles:
                    offerable = available.for_role(role)
                    if (not allocatable(offerable)
                            or self.refused(framework, role, agent.id, offerable, now)):
                        continue
                    offer = self.master.new_offer(framework, agent, role, offerable)
                    made.setdefault(framework.id, []).append(offer)
                    available = available - offerable
        for framework_id, offers in made.items():
            framework = self.master.frameworks[framework_id]
            self.master.send(framework, {"type": "OFFERS", "offers": {
                "offers": [self.offer_json(framework, o) for o in offers]}})

    def refused(self, framework: Framework, role: str, agent_id: str, offered: Resources,
                now: float) -> bool:
        key = (role, agent_id)
        filters = [f for f in framework.filters.get(key, []) if f.expires > now]
        if filters:
            framework.filters[key] = filters
        else:
            framework.filters.pop(key, None)
        return any(f.refuses(offered, now) for f in filters)

    def refuse(self, framework: Framework, role: str, agent_id: str, resources: Resources,
               filters: Json) -> None:
        """Returned resources, refused for ``filters.refuse_seconds`` (0: not at all)."""
        seconds = refuse_seconds(filters)
        if seconds > 0 and not resources.empty():
            framework.filters.setdefault((role, agent_id), []).append(
                Filter(resources, time.monotonic() + seconds))

    def revive(self, framework: Framework, roles: list[str]) -> None:
        for role in roles or framework.roles:
            framework.suppressed.discard(role)
            for key in [k for k in framework.filters if k[0] == role]:
                del framework.filters[key]

    def suppress(self, framework: Framework, roles: list[str]) -> None:
        framework.suppressed.update(roles or framework.roles)

    def offer_json(self, framework: Framework, offer: Offer) -> Json:
        agent: AgentRecord = self.master.agents[offer.agent_id]
        allocation = offer.role if framework.multi_role else None
        port = int(agent.info.get("port", 5051))
        json: Json = {
            "id": wire.wrap(offer.id), "framework_id": wire.wrap(framework.id),
            "agent_id": wire.wrap(agent.id), "hostname": agent.hostname,
            "url": {"scheme": "http",
                    "address": {"hostname": agent.hostname, "ip": "127.0.0.1", "port": port},
                    "path": "/slave(1)"},
            "resources": offer.resources.to_json(allocation),
            "attributes": agent.info.get("attributes", []),
            "executor_ids": [wire.wrap(e) for e in agent.executors.get(framework.id, {})],
        }
        if allocation is not None:
            json["allocation_info"] = {"role": allocation}
        return json
