"""Preemption, as Aurora's preemptor: a task that stayed PENDING for want of resources may
evict running tasks on one host to make room.

A victim qualifies when (Aurora's ``PreemptionVictimFilter``, with tiers):

* the pending task is not preemptible (preferred tier) and the victim is preemptible, or
* both are equally preemptible, of the same role, and the victim's priority is lower.

Victims are taken largest first on one agent until the pending task would fit there; they go
PREEMPTING and are killed, and their replacements wait like any rescheduled task. A task is
considered only after ``delay`` seconds PENDING (Aurora: 3 minutes), once per eviction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.placement import AttributeCounts, Offer, veto
from aurora_provider.framework.state import LAUNCHED, TERMINAL, TaskState
from aurora_provider.framework.storage import TaskRow
from aurora_provider.framework.tiers import tier_of

log = logging.getLogger(__name__)
S = TaskState


def may_preempt(candidate: Mapping[str, Any], candidate_role: str,
                victim: Mapping[str, Any], victim_role: str) -> bool:
    """Whether a pending task (configuration ``candidate``) may evict ``victim``'s task."""
    c, v = tier_of(candidate), tier_of(victim)
    if not c.preemptible and v.preemptible:
        return True
    if c.preemptible == v.preemptible and candidate_role == victim_role:
        return int(candidate.get("priority", 0)) > int(victim.get("priority", 0))
    return False


def _role(job_key: str) -> str:
    return job_key.split("/", 1)[0]


class Preemptor:
    def __init__(self, core: Scheduler, delay_secs: float) -> None:
        self.core = core
        self.delay = delay_secs
        self._evicting: dict[str, set[str]] = {}  # candidate task id -> its victims

    def tick(self) -> None:
        core = self.core
        now = core.clock()
        self._forget_settled()
        candidates = [
            r for r in core.cache.in_state(S.PENDING)
            if r.task_id not in self._evicting and now - r.status_at >= self.delay
            and (core.pending_reasons.get(r.task_id) or "").startswith("Insufficient")]
        if not candidates:
            return
        offers = core.backend.offers()
        evicted: set[str] = set()
        for candidate in sorted(candidates, key=lambda r: (r.created_at, r.instance)):
            victims = self._find(candidate, offers, evicted)
            if not victims:
                continue
            ch = core.changes()
            for victim in victims:
                core.move(ch, victim, S.PREEMPTING, f"Preempting in favor of {candidate.task_id}")
                ch.kills.append(victim.task_id)
            core.commit(ch)
            evicted.update(v.task_id for v in victims)
            self._evicting[candidate.task_id] = {v.task_id for v in victims}
            log.info("preempting %s for %s", [v.task_id for v in victims], candidate.task_id)

    def _forget_settled(self) -> None:
        cache = self.core.cache.by_id
        for candidate, victims in list(self._evicting.items()):
            still_pending = cache.get(candidate) is not None and \
                cache[candidate].status is S.PENDING
            victims_gone = all(v not in cache or cache[v].status in TERMINAL for v in victims)
            if not still_pending or victims_gone:
                del self._evicting[candidate]

    def _find(self, candidate: TaskRow, offers: list[Offer], taken: set[str]) -> list[TaskRow]:
        core = self.core
        demand = core.demand(candidate.config_id, candidate.job_key)
        task = core.store.config(candidate.config_id)["task"]
        role = _role(candidate.job_key)
        by_agent: dict[str, list[TaskRow]] = {}
        for row in core.cache.by_id.values():
            if row.status in LAUNCHED and row.status is not S.PREEMPTING and \
                    row.task_id not in taken and row.agent_id:
                by_agent.setdefault(row.agent_id, []).append(row)
        for offer in offers:
            if any(plug(offer, demand) for plug in core.placer.filters):
                continue  # e.g. a host in maintenance: evicting there would not help
            possible = [
                r for r in by_agent.get(offer.agent_id, [])
                if may_preempt(task, role, core.store.config(r.config_id)["task"],
                               _role(r.job_key))]
            possible.sort(key=lambda r: self._size(r), reverse=True)
            chosen: list[TaskRow] = []
            room = replace(offer, used_ports=set(offer.used_ports))
            for victim in possible:
                chosen.append(victim)
                freed = core.demand(victim.config_id, victim.job_key)
                room.cpu += freed.cpu
                room.ram_mb += freed.ram_mb
                room.disk_mb += freed.disk_mb
                room.used_ports -= set(victim.ports.values())
                if veto(room, demand, AttributeCounts()) is None:
                    return chosen
        return []

    def _size(self, row: TaskRow) -> tuple[float, float, float]:
        d = self.core.demand(row.config_id, row.job_key)
        return (d.cpu, d.ram_mb, d.disk_mb)
