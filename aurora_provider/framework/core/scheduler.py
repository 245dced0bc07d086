"""The scheduling round: status updates, throttling, timeouts, placement, pruning.

Each round runs under the ledger's lock: first the round hooks (features that commit their
own changes: cron, maintenance, preemption, updates), then one ``Changes`` that gathers the
backend's status updates, served penalties, transient timeouts, the round steps (rolling
restarts) and the placements, committed at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aurora_provider.api.errors import StoreFull
from aurora_provider.framework.backends.base import Backend, StatusUpdate
from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.core.history import prune_history
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.core.metrics import SchedulerMetrics
from aurora_provider.framework.core.ports import RoundHook, RoundStep
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.model.job_config import LimitConstraint
from aurora_provider.framework.placement.demand import Demands
from aurora_provider.framework.placement.placer import AttributeCounts, PendingTask, Placer
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import ACTIVE, LAUNCHED, TaskState

log = logging.getLogger(__name__)
S = TaskState


@dataclass(frozen=True)
class RoundStats:
    updates: int
    placed: int
    unplaced: int
    offers: int


class Scheduler:
    """Runs rounds over the ledger's tasks; independent of HTTP and of the features."""

    def __init__(self, ledger: TaskLedger, store: Store, backend: Backend, placer: Placer,
                 demands: Demands, settings: SchedulerSettings, metrics: SchedulerMetrics, *,
                 round_hooks: Sequence[RoundHook] = (),
                 round_steps: Sequence[RoundStep] = ()) -> None:
        self.ledger = ledger
        self._store = store
        self._backend = backend
        self._placer = placer
        self._demands = demands
        self.settings = settings
        self._metrics = metrics
        self._hooks = tuple(round_hooks)
        self._steps = tuple(round_steps)
        self._agent_attributes: dict[str, tuple[str, dict[str, str]]] = {}
        self._updates: list[StatusUpdate] = []
        self._last_prune = 0.0
        self._full = False

    # -- start-up ------------------------------------------------------------------------

    def recover(self) -> None:
        """Load active tasks, start the backend and re-attach the launched tasks."""
        ledger = self.ledger
        with ledger.lock:
            ledger.load(self._store.tasks.tasks(statuses=ACTIVE))
            self._backend.start()
            launched = [r for r in ledger.all_active() if r.status in LAUNCHED]
            self._updates.extend(self._backend.reconcile(
                [ledger.launch_of(r) for r in launched]))
            killing = [r.task_id for r in launched if r.status is S.KILLING]
            if killing:
                self._backend.kill(killing)
            log.info("recovered %d active tasks, %d launched", len(ledger.all_active()),
                     len(launched))

    # -- the round -----------------------------------------------------------------------

    def run_round(self) -> RoundStats:
        started = time.perf_counter()
        with self.ledger.lock:
            for hook in self._hooks:
                try:
                    hook.before_round()
                except StoreFull as e:
                    self._note_full(e)
                except Exception:  # one broken feature must not stop scheduling
                    log.exception("round hook %s failed", type(hook).__name__)
            ch = self.ledger.changes()
            updates = self._updates + self._backend.poll()
            self._updates = []
            try:
                for update in updates:
                    self.ledger.apply_status(ch, update)
                self._unthrottle(ch)
                self._expire_transient(ch)
                for step in self._steps:
                    step.during_round(ch)
                placed, unplaced, offers = self._place(ch)
                if ch:
                    self.ledger.commit(ch)
            except Exception as e:
                # Nothing of this round reached memory or the backend: retry its updates.
                self._updates = updates + self._updates
                if not isinstance(e, StoreFull):
                    raise
                self._note_full(e)
                return RoundStats(len(updates), 0, 0, 0)
            if self._full and ch:
                self._full = False
                log.warning("the store takes writes again: scheduling carries on")
            if ch.now - self._last_prune >= self.settings.prune_interval_secs:
                self._last_prune = ch.now
                try:
                    self.prune(ch.now)
                except StoreFull as e:
                    self._note_full(e)
        m = self._metrics
        m.rounds.inc()
        m.placements.inc(placed)
        m.offers.set(offers)
        m.offers_seen.inc(offers)
        m.round_seconds.observe(time.perf_counter() - started)
        return RoundStats(len(updates), placed, unplaced, offers)

    def _note_full(self, error: StoreFull) -> None:
        """A full store stops every write until space returns: said once, not each round
        (the rounds keep retrying; the API keeps answering reads)."""
        if not self._full:
            self._full = True
            log.error("scheduling paused: %s", error)

    def prune(self, now: float) -> int:
        """Drop old terminal history now; the number of tasks dropped."""
        pruned = prune_history(self._store, self.settings, now)
        self._metrics.pruned.inc(pruned)
        return pruned

    def _unthrottle(self, ch: Changes) -> None:
        for row in ch.in_state(S.THROTTLED):
            if row.throttle_until is None or row.throttle_until <= ch.now:
                ch.move(row, S.PENDING, "Penalty served", throttle_until=None)

    def _expire_transient(self, ch: Changes) -> None:
        limit = self.settings.transient_timeout_secs
        for state in (S.ASSIGNED, S.STARTING):
            for row in ch.in_state(state):
                if ch.now - row.status_at > limit:
                    self.ledger.move(ch, row, S.LOST, f"Task timed out in {state}")
                    ch.kills.append(row.task_id)
                    self._metrics.timed_out.inc()

    def _place(self, ch: Changes) -> tuple[int, int, int]:
        pending = sorted(ch.in_state(S.PENDING), key=lambda r: (r.created_at, r.instance))
        if not pending:
            return 0, 0, 0
        offers = self._backend.offers()
        for offer in offers:
            self._agent_attributes[offer.agent_id] = (offer.hostname, dict(offer.attributes))
        demands = {config_id: self._demands(config_id)
                   for config_id in {r.config_id for r in pending}}
        counts = AttributeCounts()
        if any(isinstance(c, LimitConstraint) for d in demands.values() for c in d.constraints):
            for active in self.ledger.all_active():
                known = self._agent_attributes.get(active.agent_id or "")
                if active.status in LAUNCHED and known is not None:
                    counts.add(active.job_key, known[1], known[0])
        result = self._placer.place(
            (PendingTask(r.task_id, r.config_id) for r in pending), demands, offers, counts,
            batch=self.settings.max_tasks_per_round)
        for a in result.assignments:
            placed = ch.get(a.task_id)
            if placed is None:
                continue
            ch.move(placed, S.ASSIGNED, f"Assigned to {a.hostname}", agent_id=a.agent_id,
                    host=a.hostname, ports=a.ports)
            ch.launches.append(a.task_id)
        self.ledger.note_pending(result.vetoes)
        return len(result.assignments), len(result.vetoes), len(offers)
