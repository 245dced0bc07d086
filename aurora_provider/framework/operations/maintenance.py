"""Host maintenance, as Aurora's ``MaintenanceController`` (``states.maintenance``).

SCHEDULED hosts get tasks only when no other host can take them (their offers come last);
DRAINING and DRAINED hosts get none. Draining moves each task on the host to DRAINING and
kills it; the replacement is placed elsewhere. A drain is one of:

* plain (``drain``): every task goes at once;
* with a percentage (``drain(percentage=P)``): a job's RUNNING tasks go only while at least
  P% of its instances stay RUNNING; the rest wait for replacements to come up;
* SLA-aware (``sla_drain``, Aurora's ``slaDrainHosts``): a task goes only when its job's
  ``sla_policy`` allows it (``jobs.sla``). A job without a policy gets the drain's default
  (Aurora's: 95% of the instances RUNNING for 30 minutes) when it is a production job with at
  least ``min_sla_instances`` active tasks (Aurora's ``-min_required_instances_for_sla_check``,
  20); other jobs without a policy are drained at once. Once the drain's timeout has passed
  (Aurora's default: 7 days), what is left is drained regardless.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.jobs.sla import PercentagePolicy, SlaGate, SlaPolicy
from aurora_provider.framework.placement.demand import Demand
from aurora_provider.framework.placement.offers import Offer
from aurora_provider.framework.storage.maintenance import HostMode
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.maintenance import CLOSED, MACHINE, MaintenanceMode
from aurora_provider.states.task import ACTIVE, TaskState, can_transition

S = TaskState
M = MaintenanceMode
MIN_SLA_INSTANCES = 20  # Aurora's -min_required_instances_for_sla_check
NONE = HostMode(M.NONE)


@dataclass(frozen=True)
class HostStatus:
    host: str
    mode: MaintenanceMode
    percentage: float | None
    active_tasks: int
    sla_duration_secs: float | None = None
    force_drain_at: float | None = None
    sla_holds: list[str] = field(default_factory=list)  # why tasks still wait


class Maintenance:
    """Host modes; the placement's offer order and filter, and a round hook (drains).

    :param cluster: this scheduler's cluster, for the coordinators' task keys.
    :param gate: decides the kills of SLA-aware drains (by default one of its own).
    :param min_sla_instances: the fewest active tasks a job without a policy must have for
        an SLA-aware drain to apply the default SLA to it.
    """

    def __init__(self, ledger: TaskLedger, store: Store, cluster: str, *,
                 gate: SlaGate | None = None, min_sla_instances: int = MIN_SLA_INSTANCES
                 ) -> None:
        self._ledger = ledger
        self._store = store
        self._gate = gate or SlaGate(ledger.config, cluster)
        self._min_sla_instances = min_sla_instances
        self._modes: dict[str, HostMode] = {}

    def recover(self) -> None:
        self._modes = self._store.maintenance.modes()

    def mode(self, host: str) -> MaintenanceMode:
        return self._modes.get(host, NONE).mode

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

    def _move(self, hosts: Sequence[str], mode: HostMode) -> None:
        """Hosts enter ``mode`` (a change of mode checked against the machine; a host in it
        already takes the new drain settings), persisted first."""
        for host in hosts:
            if self.mode(host) is not mode.mode:
                MACHINE.transition(host, self.mode(host), mode.mode)
        with self._store.transaction() as tx:
            self._store.maintenance.save(tx, hosts, mode, self._ledger.now())
        for host in hosts:
            if mode.mode is M.NONE:
                self._modes.pop(host, None)
            else:
                self._modes[host] = mode

    @staticmethod
    def _hosts(hosts: Sequence[str]) -> list[str]:
        cleaned = [h.strip() for h in hosts if h.strip()]
        if not cleaned:
            raise InvalidRequest("name at least one host")
        return list(dict.fromkeys(cleaned))

    def start(self, hosts: Sequence[str]) -> list[HostStatus]:
        """NONE -> SCHEDULED (hosts already in maintenance keep their mode)."""
        with self._ledger.lock:
            self._move([h for h in self._hosts(hosts) if self.mode(h) is M.NONE],
                       HostMode(M.SCHEDULED))
            return self.status(hosts)

    def drain(self, hosts: Sequence[str], percentage: float | None = None) -> list[HostStatus]:
        if percentage is not None and not 0 <= percentage <= 100:
            raise InvalidRequest(f"percentage {percentage:g} must be between 0 and 100")
        return self._drain(hosts, HostMode(M.DRAINING, percentage))

    def sla_drain(self, hosts: Sequence[str], percentage: float, duration_secs: float,
                  timeout_secs: float) -> list[HostStatus]:
        """Drain under each job's SLA (``percentage`` over ``duration_secs``: the default
        for jobs without a policy), regardless of SLAs after ``timeout_secs``."""
        if not 0 < percentage <= 100:
            raise InvalidRequest(f"percentage {percentage:g} must be within (0, 100]")
        for name, value in (("duration", duration_secs), ("timeout", timeout_secs)):
            if not (value >= 0 and math.isfinite(value)):
                raise InvalidRequest(f"{name} {value:g}s must be 0 or more seconds")
        return self._drain(hosts, HostMode(M.DRAINING, percentage, duration_secs,
                                           self._ledger.now() + timeout_secs))

    def _drain(self, hosts: Sequence[str], mode: HostMode) -> list[HostStatus]:
        with self._ledger.lock:
            self._move([h for h in self._hosts(hosts) if self.mode(h) is not M.DRAINED], mode)
            self.before_round()
            return self.status(hosts)

    def end(self, hosts: Sequence[str]) -> list[HostStatus]:
        with self._ledger.lock:
            self._move(self._hosts(hosts), NONE)
            self._forget_holds()
            return self.status(hosts)

    def status(self, hosts: Sequence[str] | None = None) -> list[HostStatus]:
        with self._ledger.lock:
            names = list(hosts) if hosts else sorted(self._modes)
            counts: dict[str, int] = {}
            for row in self._ledger.all_active():
                if row.host:
                    counts[row.host] = counts.get(row.host, 0) + 1
            found = []
            for h in names:
                m = self._modes.get(h, NONE)
                found.append(HostStatus(h, m.mode, m.percentage, counts.get(h, 0),
                                        m.sla_duration_secs, m.force_drain_at,
                                        self._holds(h) if m.mode is M.DRAINING else []))
            return found

    def _holds(self, host: str) -> list[str]:
        """Why tasks of a draining host still wait: ``role/env/name/instance reason``."""
        found = []
        for task_id, reason in self._gate.held(host).items():
            row = self._ledger.get(task_id)
            if row is not None and row.status in ACTIVE:
                found.append((row.job_key, row.instance, reason))
        return [f"{job}/{instance} {reason}" for job, instance, reason in sorted(found)]

    # -- the round --------------------------------------------------------------------

    def before_round(self) -> None:
        """Drain DRAINING hosts; mark DRAINED the ones with nothing active left."""
        draining = {h: m for h, m in self._modes.items() if m.mode is M.DRAINING}
        if not draining:
            return
        ledger = self._ledger
        on_host: dict[str, list[str]] = {h: [] for h in draining}
        for row in ledger.all_active():
            if row.host in on_host:
                on_host[row.host].append(row.task_id)
        ch = ledger.changes()
        up: dict[str, int] = {}  # RUNNING tasks per job, as percentage drains take them away
        done = []
        for host, task_ids in on_host.items():
            if not task_ids:
                done.append(host)
                continue
            mode = draining[host]
            for task_id in sorted(task_ids):
                found = ch.get(task_id)
                if found is None or found.status not in ACTIVE or \
                        not can_transition(found.status, S.DRAINING):
                    continue
                if mode.sla_duration_secs is not None:
                    if not self._sla_allows(ch, host, mode, found):
                        continue
                elif mode.percentage and found.status is S.RUNNING and \
                        not _keeps_share(ledger, found, mode.percentage, up):
                    continue
                ledger.move(ch, found, S.DRAINING, f"Draining host {host} for maintenance")
                ch.kills.append(task_id)
        if ch:
            ledger.commit(ch)
        if done:
            self._move(done, HostMode(M.DRAINED))
            self._forget_holds()

    def _forget_holds(self) -> None:
        """Holds are kept per draining host; drop those of hosts no longer draining."""
        self._gate.retain({h for h, m in self._modes.items() if m.mode is M.DRAINING})

    def _sla_allows(self, ch: Changes, host: str, mode: HostMode, row: TaskRow) -> bool:
        """Whether an SLA-aware drain may take ``row`` now."""
        if mode.force_drain_at is not None and ch.now >= mode.force_drain_at:
            self._gate.release(host, row.task_id)
            return True
        return self._gate.check(ch, host, row, self._policy(ch, mode, row), lambda _: None)

    def _policy(self, ch: Changes, mode: HostMode, row: TaskRow) -> SlaPolicy | None:
        """The job's own policy, else the drain's default for a large production job."""
        own = self._gate.policy(row.config_id)
        if own is not None:
            return own
        config = self._ledger.config(row.config_id)
        if not config.task.production or mode.percentage is None or \
                sum(1 for _ in ch.job_tasks(row.job_key)) < self._min_sla_instances:
            return None
        return PercentagePolicy(mode.percentage, mode.sla_duration_secs or 0.0)


def _keeps_share(ledger: TaskLedger, row: TaskRow, percentage: float,
                 up: dict[str, int]) -> bool:
    """Whether draining RUNNING ``row`` keeps ``percentage`` of its job's instances RUNNING
    (``up``: RUNNING tasks per job as this pass takes them away)."""
    tasks = ledger.active(row.job_key)
    if row.job_key not in up:
        up[row.job_key] = sum(1 for t in tasks if t.status is S.RUNNING)
    keep = math.ceil(percentage / 100 * len({t.instance for t in tasks}))
    if up[row.job_key] - 1 < keep:
        return False
    up[row.job_key] -= 1
    return True

