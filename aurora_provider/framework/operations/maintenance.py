"""Host maintenance, as Aurora's ``MaintenanceController`` (``states.maintenance``).

SCHEDULED hosts get tasks only when no other host can take them (their offers come last);
DRAINING and DRAINED hosts get none. Draining moves each task on the host to DRAINING and
kills it; the replacement is placed elsewhere. With a percentage, a job's RUNNING tasks are
drained only while at least that share of its instances stays RUNNING (Aurora's SLA-aware
drain, simplified to a count); the rest wait for replacements to come up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.placement.demand import Demand
from aurora_provider.framework.placement.offers import Offer
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.maintenance import CLOSED, MACHINE, MaintenanceMode
from aurora_provider.states.task import ACTIVE, TaskState, can_transition

S = TaskState
M = MaintenanceMode


@dataclass(frozen=True)
class HostStatus:
    host: str
    mode: MaintenanceMode
    percentage: float | None
    active_tasks: int


class Maintenance:
    """Host modes; the placement's offer order and filter, and a round hook (drains)."""

    def __init__(self, ledger: TaskLedger, store: Store) -> None:
        self._ledger = ledger
        self._store = store
        self._modes: dict[str, tuple[MaintenanceMode, float | None]] = {}

    def recover(self) -> None:
        self._modes = self._store.maintenance.modes()

    def mode(self, host: str) -> MaintenanceMode:
        found = self._modes.get(host)
        return found[0] if found else M.NONE

    # -- placement -----------------------------------------------------------------------

    def order(self, offers: Sequence[Offer]) -> list[Offer]:
        """Hosts scheduled for maintenance last (Aurora's offer order)."""
        return sorted(offers, key=lambda o: self.mode(o.hostname) is M.SCHEDULED)

    def veto(self, offer: Offer, _demand: Demand) -> str | None:
        mode = self.mode(offer.hostname)
        if mode in CLOSED:
            return f"Host {offer.hostname} is in maintenance mode {mode}"
        return None

    # -- operations -------------------------------------------------------------------

    def _move(self, hosts: Sequence[str], mode: MaintenanceMode,
              percentage: float | None) -> None:
        """Hosts enter ``mode`` (a change of mode checked against the machine; a host in it
        already takes the new percentage), persisted first."""
        for host in hosts:
            if self.mode(host) is not mode:
                MACHINE.transition(host, self.mode(host), mode)
        with self._store.transaction() as tx:
            self._store.maintenance.save(tx, hosts, mode, percentage, self._ledger.now())
        for host in hosts:
            if mode is M.NONE:
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
        with self._ledger.lock:
            self._move([h for h in self._hosts(hosts) if self.mode(h) is M.NONE], M.SCHEDULED,
                       None)
            return self.status(hosts)

    def drain(self, hosts: Sequence[str], percentage: float | None = None) -> list[HostStatus]:
        if percentage is not None and not 0 <= percentage <= 100:
            raise InvalidRequest(f"percentage {percentage:g} must be between 0 and 100")
        with self._ledger.lock:
            self._move([h for h in self._hosts(hosts) if self.mode(h) is not M.DRAINED],
                       M.DRAINING, percentage)
            self.before_round()
            return self.status(hosts)

    def end(self, hosts: Sequence[str]) -> list[HostStatus]:
        with self._ledger.lock:
            self._move(self._hosts(hosts), M.NONE, None)
            return self.status(hosts)

    def status(self, hosts: Sequence[str] | None = None) -> list[HostStatus]:
        with self._ledger.lock:
            names = list(hosts) if hosts else sorted(self._modes)
            counts: dict[str, int] = {}
            for row in self._ledger.all_active():
                if row.host:
                    counts[row.host] = counts.get(row.host, 0) + 1
            return [HostStatus(h, self.mode(h), self._modes.get(h, (M.NONE, None))[1],
                               counts.get(h, 0)) for h in names]

    # -- the round --------------------------------------------------------------------

    def before_round(self) -> None:
        """Drain DRAINING hosts; mark DRAINED the ones with nothing active left."""
        draining = {h: pct for h, (mode, pct) in self._modes.items() if mode is M.DRAINING}
        if not draining:
            return
        ledger = self._ledger
        on_host: dict[str, list[str]] = {h: [] for h in draining}
        for row in ledger.all_active():
            if row.host in on_host:
                on_host[row.host].append(row.task_id)
        ch = ledger.changes()
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
                    tasks = ledger.active(row.job_key)
                    if row.job_key not in up:
                        up[row.job_key] = sum(1 for t in tasks if t.status is S.RUNNING)
                    keep = math.ceil(pct / 100 * len({t.instance for t in tasks}))
                    if up[row.job_key] - 1 < keep:
                        continue
                    up[row.job_key] -= 1
                ledger.move(ch, row, S.DRAINING, f"Draining host {host} for maintenance")
                ch.kills.append(task_id)
        if ch:
            ledger.commit(ch)
        if done:
            self._move(done, M.DRAINED, None)
