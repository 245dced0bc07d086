"""Preemption, as Aurora's preemptor: a task that stayed PENDING for want of resources may
evict running tasks on one host to make room.

A victim qualifies when (Aurora's ``PreemptionVictimFilter``, with the configured tiers):

* the pending task is not preemptible (preferred tier) and the victim is preemptible, or
* both are equally preemptible, of the same role, and the victim's priority is lower.

Victims are taken largest first on one agent until the pending task would fit there; they go
PREEMPTING and are killed, and their replacements wait like any rescheduled task. A task is
considered only after ``delay`` seconds PENDING (Aurora: 3 minutes), once per eviction.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.model.job_config import TaskConfig
from aurora_provider.framework.placement.demand import Demands
from aurora_provider.framework.placement.offers import Offer
from aurora_provider.framework.placement.placer import AttributeCounts, Placer, veto
from aurora_provider.framework.placement.tiers import TierTable
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.states.task import LAUNCHED, TERMINAL, TaskState

log = logging.getLogger(__name__)
S = TaskState


class OfferSource(Protocol):
    def offers(self) -> list[Offer]: ...


def may_preempt(tiers: TierTable, candidate: TaskConfig, candidate_role: str,
                victim: TaskConfig, victim_role: str) -> bool:
    """Whether a pending task (configuration ``candidate``) may evict ``victim``'s task."""
    c, v = tiers.admitted_tier_of(candidate), tiers.admitted_tier_of(victim)
    if not c.preemptible and v.preemptible:
        return True
    if c.preemptible == v.preemptible and candidate_role == victim_role:
        return candidate.priority > victim.priority
    return False


def _role(job_key: str) -> str:
    return job_key.split("/", 1)[0]


class Preemptor:
    """A round hook: evicts victims for tasks that waited ``delay_secs`` for resources."""

    def __init__(self, ledger: TaskLedger, offers: OfferSource, demands: Demands,
                 placer: Placer, delay_secs: float, tiers: TierTable) -> None:
        self._ledger = ledger
        self._tiers = tiers
        self._offers = offers
        self._demands = demands
        self._placer = placer
        self.delay = delay_secs
        self._evicting: dict[str, set[str]] = {}  # candidate task id -> its victims

    def before_round(self) -> None:
        ledger = self._ledger
        now = ledger.now()
        self._forget_settled()
        candidates = [
            r for r in ledger.in_state(S.PENDING)
            if r.task_id not in self._evicting and now - r.status_at >= self.delay
            and (ledger.pending_reason(r.task_id) or "").startswith("Insufficient")]
        if not candidates:
            return
        offers = self._offers.offers()
        evicted: set[str] = set()
        for candidate in sorted(candidates, key=lambda r: (r.created_at, r.instance)):
            victims = self._find(candidate, offers, evicted)
            if not victims:
                continue
            ch = ledger.changes()
            for victim in victims:
                ledger.move(ch, victim, S.PREEMPTING,
                            f"Preempting in favor of {candidate.task_id}")
                ch.kills.append(victim.task_id)
            ledger.commit(ch)
            evicted.update(v.task_id for v in victims)
            self._evicting[candidate.task_id] = {v.task_id for v in victims}
            log.info("preempting %s for %s", [v.task_id for v in victims], candidate.task_id)

    def _forget_settled(self) -> None:
        for candidate, victims in list(self._evicting.items()):
            row = self._ledger.get(candidate)
            still_pending = row is not None and row.status is S.PENDING
            victims_gone = all((v := self._ledger.get(t)) is None or v.status in TERMINAL
                               for t in victims)
            if not still_pending or victims_gone:
                del self._evicting[candidate]

    def _find(self, candidate: TaskRow, offers: list[Offer], taken: set[str]) -> list[TaskRow]:
        ledger = self._ledger
        demand = self._demands(candidate.config_id)
        task = ledger.config(candidate.config_id).task
        role = _role(candidate.job_key)
        by_agent: dict[str, list[TaskRow]] = {}
        for row in ledger.all_active():
            if row.status in LAUNCHED and row.status is not S.PREEMPTING and \
                    row.task_id not in taken and row.agent_id:
                by_agent.setdefault(row.agent_id, []).append(row)
        for offer in offers:
            if self._placer.filtered(offer, demand):
                continue  # e.g. a host in maintenance: evicting there would not help
            possible = [
                r for r in by_agent.get(offer.agent_id, [])
                if may_preempt(self._tiers, task, role, ledger.config(r.config_id).task,
                               _role(r.job_key))]
            possible.sort(key=self._size, reverse=True)
            chosen: list[TaskRow] = []
            room = replace(offer, used_ports=set(offer.used_ports))
            for victim in possible:
                chosen.append(victim)
                freed = self._demands(victim.config_id)
                room.cpu += freed.cpu
                room.ram_mb += freed.ram_mb
                room.disk_mb += freed.disk_mb
                room.used_ports -= set(victim.ports.values())
                if veto(room, demand, AttributeCounts()) is None:
                    return chosen
        return []

    def _size(self, row: TaskRow) -> tuple[float, float, float]:
        d = self._demands(row.config_id)
        return (d.cpu, d.ram_mb, d.disk_mb)
