"""Host maintenance, as Aurora's ``MaintenanceController``::

    NONE ──start──> SCHEDULED ──drain──> DRAINING ──(no active task left)──> DRAINED
      ▲                 │                   │                                 │
      └──────────────── end ────────────────┴─────────────────────────────────┘

SCHEDULED hosts get tasks only when no other host can take them (their offers come last);
DRAINING and DRAINED hosts get none. Draining moves each task on the host to DRAINING and
kills it; the replacement is placed elsewhere. With a percentage, a job's RUNNING tasks are
drained only while at least that share of its instances stays RUNNING (Aurora's SLA-aware
drain, simplified to a count); the rest wait for replacements to come up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.errors import InvalidRequest
from aurora_provider.framework.placement import Demand, Offer
from aurora_provider.framework.state import ACTIVE, TaskState, can_transition
from aurora_provider.framework.storage.ops_tables import host_maintenance

S = TaskState
NONE, SCHEDULED, DRAINING, DRAINED = "NONE", "SCHEDULED", "DRAINING", "DRAINED"


@dataclass(frozen=True)
class HostStatus:
    host: str
    mode: str
    percentage: float | None
    active_tasks: int


class MaintenanceService:
    def __init__(self, core: Scheduler) -> None:
        self.core = core
        self._modes: dict[str, tuple[str, float | None]] = {}
        with core.store.engine.connect() as conn:
            for r in conn.execute(sa.select(host_maintenance)):
                self._modes[r.host] = (r.mode, r.percentage)

    def mode(self, host: str) -> str:
        found = self._modes.get(host)
        return found[0] if found else NONE

    # -- placement seams ----------------------------------------------------------------

    def order(self, offers: Sequence[Offer]) -> list[Offer]:
        """Hosts scheduled for maintenance last (Aurora's offer order)."""
        return sorted(offers, key=lambda o: self.mode(o.hostname) == SCHEDULED)

    def veto(self, offer: Offer, _demand: Demand) -> str | None:
        mode = self.mode(offer.hostname)
        if mode in (DRAINING, DRAINED):
            return f"Host {offer.hostname} is in maintenance mode {mode}"
        return None

    # -- operations ---------------------------------------------------------------------

    def _write(self, hosts: Iterable[str], mode: str, percentage: float | None) -> None:
        now = self.core.clock()
        with self.core.store.transaction() as tx:
            for host in hosts:
                tx.connection.execute(host_maintenance.delete().where(
                    host_maintenance.c.host == host))
                if mode != NONE:
                    tx.connection.execute(host_maintenance.insert().values(
                        host=host, mode=mode, percentage=percentage, updated_at=now))
        for host in hosts:
            if mode == NONE:
                self._modes.pop(host, None)
            else:
                self._modes[host] = (mode, percentage)

    @staticmethod
    def _hosts(hosts: Sequence[str]) -> list[str]:
        cleaned = [h.strip() for h in hosts if h.strip()]
        if not cleaned:
            raise InvalidRequest("name at least one host")
        return list(dict.fromkeys(cleaned))

    def start(self, hosts: Sequence[str]) -> list[HostStatus]:
        """NONE -> SCHEDULED (hosts already in maintenance keep their mode)."""
        with self.core.lock:
            fresh = [h for h in self._hosts(hosts) if self.mode(h) == NONE]
            self._write(fresh, SCHEDULED, None)
            return self.status(hosts)

    def drain(self, hosts: Sequence[str], percentage: float | None = None) -> list[HostStatus]:
        if percentage is not None and not 0 <= percentage <= 100:
            raise InvalidRequest(f"percentage {percentage:g} must be between 0 and 100")
        with self.core.lock:
            todo = [h for h in self._hosts(hosts) if self.mode(h) != DRAINED]
            self._write(todo, DRAINING, percentage)
            self.tick()
            return self.status(hosts)

    def end(self, hosts: Sequence[str]) -> list[HostStatus]:
        with self.core.lock:
            self._write(self._hosts(hosts), NONE, None)
            return self.status(hosts)

    def status(self, hosts: Sequence[str] | None = None) -> list[HostStatus]:
        with self.core.lock:
            names = list(hosts) if hosts else sorted(self._modes)
            counts: dict[str, int] = {}
            for row in self.core.cache.by_id.values():
                if row.host:
                    counts[row.host] = counts.get(row.host, 0) + 1
            return [HostStatus(h, self.mode(h), self._modes.get(h, (NONE, None))[1],
                               counts.get(h, 0)) for h in names]

    # -- the loop -----------------------------------------------------------------------

    def tick(self) -> None:
        """Drain DRAINING hosts; mark DRAINED the ones with nothing active left."""
        draining = {h: pct for h, (mode, pct) in self._modes.items() if mode == DRAINING}
        if not draining:
            return
        cache = self.core.cache
        on_host: dict[str, list[str]] = {h: [] for h in draining}
        for row in cache.by_id.values():
            if row.host in on_host:
                on_host[row.host].append(row.task_id)
        ch = self.core.changes()
        up: dict[str, int] = {}  # RUNNING tasks per job, as drains take them away
        done = []
        for host, task_ids in on_host.items():
            if not task_ids:
                done.append(host)
                continue
            pct = draining[host]
            for task_id in sorted(task_ids):
                found = ch.get(task_id)
                if found is None or found.status not in ACTIVE or \
                        not can_transition(found.status, S.DRAINING):
                    continue
                row = found
                if pct and row.status is S.RUNNING:
                    tasks = cache.job_tasks(row.job_key)
                    if row.job_key not in up:
                        up[row.job_key] = sum(1 for t in tasks if t.status is S.RUNNING)
                    keep = math.ceil(pct / 100 * len({t.instance for t in tasks}))
                    if up[row.job_key] - 1 < keep:
                        continue
                    up[row.job_key] -= 1
                self.core.move(ch, row, S.DRAINING, f"Draining host {host} for maintenance")
                ch.kills.append(task_id)
        if ch.rows:
            self.core.commit(ch)
        if done:
            self._write(done, DRAINED, None)
