"""The scheduler core: follows task states, reschedules, throttles, places and launches.

One lock serialises every writer (API operations and scheduling rounds). A change is
persisted in one transaction, then the in-memory view is updated, then the backend is told
(launch, kill): the store always knows a state before anything acts on it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aurora_provider.framework.backends.base import Backend, Launch, StatusUpdate
from aurora_provider.framework.changes import Changes, TaskCache
from aurora_provider.framework.errors import Conflict
from aurora_provider.framework.metrics import Metrics
from aurora_provider.framework.placement import (
    AttributeCounts,
    Demand,
    LimitConstraint,
    PendingTask,
    Placer,
    demand_from_wire,
)
from aurora_provider.framework.restarts import advance_restart
from aurora_provider.framework.settings import SchedulerSettings
from aurora_provider.framework.state import (
    ACTIVE,
    INTERRUPTED,
    LAUNCHED,
    NOT_LAUNCHED,
    TERMINAL,
    Backoff,
    Event,
    RescheduleInput,
    TaskState,
    can_transition,
    flapping_penalty,
    reschedules,
)
from aurora_provider.framework.storage import Store, TaskRow
from aurora_provider.framework.storage.store import RestartRow, Transaction

log = logging.getLogger(__name__)
S = TaskState


def new_task_id(job_key: str, instance: int) -> str:
    """Aurora's form: ``role-env-name-instance-uuid``."""
    role, env, name = job_key.split("/")
    return f"{role}-{env}-{name}-{instance}-{uuid.uuid4()}"


@dataclass(frozen=True)
class RoundStats:
    updates: int
    placed: int
    unplaced: int
    offers: int


class Scheduler:
    """The core, independent of HTTP; ``jobs.JobService`` offers the job operations."""

    def __init__(self, store: Store, backend: Backend, settings: SchedulerSettings, *,
                 placer: Placer | None = None, clock: Callable[[], float] = time.time,
                 metrics: Metrics | None = None) -> None:
        self.store = store
        self.backend = backend
        self.settings = settings
        self.placer = placer or Placer()
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.lock = threading.RLock()
        self.cache = TaskCache()
        self.restarts: dict[str, RestartRow] = {}  # active rolling restart per job
        self.pending_reasons: dict[str, str] = {}
        self.agent_attributes: dict[str, tuple[str, dict[str, str]]] = {}
        self.backoff = Backoff(settings.backoff_initial_secs, settings.backoff_max_secs)
        self._demands: dict[int, Demand] = {}
        self._updates: list[StatusUpdate] = []
        self._last_prune = 0.0
        # Run under the lock at the start of every round, before its changes are gathered
        # (cron triggers, host drains, preemption); each commits its own changes.
        self.round_hooks: list[Callable[[], None]] = []
        # Why a job may not be killed, restarted or grown right now (an active update, as
        # Aurora's assertNotUpdating), or None; each feature that can hold a job adds one.
        self.job_guards: list[Callable[[str], str | None]] = []

    # -- start-up ------------------------------------------------------------------------

    def recover(self) -> None:
        """Load active tasks and restarts, re-attach launched tasks through the backend."""
        with self.lock:
            for row in self.store.tasks(statuses=ACTIVE):
                self.cache.put(row)
            for restart in self.store.restarts(active_only=True):
                self.restarts[restart.job_key] = restart
            self.backend.start()
            launched = [r for r in self.cache.by_id.values() if r.status in LAUNCHED]
            self._updates.extend(self.backend.reconcile([self.launch_of(r) for r in launched]))
            killing = [r.task_id for r in launched if r.status is S.KILLING]
            if killing:
                self.backend.kill(killing)
            log.info("recovered %d active tasks, %d launched", len(self.cache.by_id),
                     len(launched))

    # -- helpers ---------------------------------------------------------------------------

    def demand(self, config_id: int, job_key: str) -> Demand:
        found = self._demands.get(config_id)
        if found is None:
            found = demand_from_wire(job_key, self.store.config(config_id),
                                     self.settings.overhead)
            self._demands[config_id] = found
        return found

    def launch_of(self, row: TaskRow) -> Launch:
        demand = self.demand(row.config_id, row.job_key)
        return Launch(
            task_id=row.task_id, job_key=row.job_key, instance=row.instance,
            agent_id=row.agent_id or "", hostname=row.host or "", ports=dict(row.ports),
            config=self.store.config(row.config_id), cpu=demand.cpu, ram_mb=demand.ram_mb,
            disk_mb=demand.disk_mb)

    def assert_changeable(self, job_key: str) -> None:
        """Raise Conflict when a guard holds the job (call with the lock held)."""
        for guard in self.job_guards:
            reason = guard(job_key)
            if reason:
                raise Conflict(reason)

    def changes(self) -> Changes:
        return Changes(self.cache, self.clock())

    def commit(self, ch: Changes, extra: Callable[[Transaction], None] | None = None) -> None:
        """Persist ``ch`` in one transaction, update memory, then tell the backend."""
        emptied = [job for job in ch.touched_jobs if not any(ch.job_tasks(job))]
        with self.store.transaction() as tx:
            tx.write_tasks(ch.write())
            for restart in ch.restarts:
                tx.save_restart(restart)
            for job_key in emptied:
                # As in Aurora, a job without active tasks is gone; its history remains.
                tx.delete_job(job_key)
            if extra is not None:
                extra(tx)
        ch.apply_to_cache()
        for restart in ch.restarts:
            if restart.state == "ACTIVE":
                self.restarts[restart.job_key] = restart
            else:
                self.restarts.pop(restart.job_key, None)
        for job_key in emptied:
            self.restarts.pop(job_key, None)
        for task_id in ch.rows:
            if ch.rows[task_id].status is not S.PENDING:
                self.pending_reasons.pop(task_id, None)
        if ch.launches:
            self.backend.launch([self.launch_of(ch.rows[t]) for t in ch.launches])
        if ch.kills:
            self.backend.kill(ch.kills)
        self.metrics.transitions += len(ch.events)

    # -- state changes with their consequences ----------------------------------------------

    def move(self, ch: Changes, row: TaskRow, target: TaskState, message: str | None = None,
             **fields: object) -> TaskRow:
        """Change a task's state; a termination may create its replacement."""
        if target is S.FAILED:
            fields["failure_count"] = row.failure_count + 1
        moved = ch.move(row, target, message, **fields)
        if target in TERMINAL:
            self._after_termination(ch, row, moved)
        return moved

    def kill(self, ch: Changes, row: TaskRow, message: str) -> None:
        """Ask for a task's end: KILLING, then KILLED at once when it never launched, else
        a kill sent to the backend. A task already KILLING is left as it is."""
        if row.status is S.KILLING:
            return
        moved = self.move(ch, row, S.KILLING, message)
        if row.status in NOT_LAUNCHED:
            self.move(ch, moved, S.KILLED, message)
        else:
            ch.kills.append(row.task_id)

    def _after_termination(self, ch: Changes, before: TaskRow, after: TaskRow) -> None:
        task = self.store.config(after.config_id)["task"]
        info = RescheduleInput(
            previous=before.status, terminal=after.status,
            is_service=bool(task.get("is_service", False)),
            max_task_failures=int(task.get("max_task_failures", 1)),
            failure_count=after.failure_count)
        if not reschedules(info):
            return
        penalty = self._flapping_penalty(before, after, ch.now)
        replacement = ch.create(TaskRow(
            task_id=new_task_id(after.job_key, after.instance), job_key=after.job_key,
            instance=after.instance, config_id=after.config_id, status=S.INIT,
            created_at=ch.now, status_at=ch.now, failure_count=after.failure_count,
            ancestor_id=after.task_id), f"Rescheduled from {after.task_id}")
        if penalty > 0:
            ch.move(replacement, S.THROTTLED,
                    f"Rescheduled, penalized for {penalty:g} s for flapping",
                    throttle_until=ch.now + penalty)
        else:
            ch.move(replacement, S.PENDING, "Rescheduled")

    def _flapping_penalty(self, before: TaskRow, after: TaskRow, now: float) -> float:
        threshold = self.settings.flapping_threshold_secs
        # Fast path: the last active state began at before.status_at.
        if before.status in INTERRUPTED or now - before.status_at >= threshold:
            return 0.0
        ancestry: list[list[Event]] = [[Event(before.status_at, before.status),
                                        Event(now, after.status)]]
        ancestor_id = after.ancestor_id
        while ancestor_id is not None and len(ancestry) < 16:
            ancestor = self.store.task(ancestor_id)
            if ancestor is None:
                break
            events = self.store.events(task_ids=[ancestor_id]).get(ancestor_id, [])
            ancestry.append([Event(e.timestamp, e.status) for e in events])
            ancestor_id = ancestor.ancestor_id
        return flapping_penalty(ancestry, threshold, self.backoff)

    # -- the scheduling round --------------------------------------------------------------

    def run_round(self) -> RoundStats:
        started = time.perf_counter()
        with self.lock:
            for hook in self.round_hooks:
                hook()
            ch = self.changes()
            updates = self._updates + self.backend.poll()
            self._updates = []
            try:
                for update in updates:
                    self._apply_update(ch, update)
                self._unthrottle(ch)
                self._expire_transient(ch)
                self._advance_restarts(ch)
                placed, unplaced, offers = self._place(ch)
                if ch.rows or ch.restarts or ch.kills:
                    self.commit(ch)
            except Exception:
                # Nothing of this round reached memory or the backend: retry its updates.
                self._updates = updates + self._updates
                raise
            if ch.now - self._last_prune >= self.settings.prune_interval_secs:
                self._last_prune = ch.now
                self.prune(ch.now)
        self.metrics.rounds += 1
        self.metrics.placements += placed
        self.metrics.offers = offers
        self.metrics.round_seconds.observe(time.perf_counter() - started)
        return RoundStats(len(updates), placed, unplaced, offers)

    def _apply_update(self, ch: Changes, update: StatusUpdate) -> None:
        row = ch.get(update.task_id)
        if row is None:
            if update.state in ACTIVE:  # a task we do not know (or no longer run): stop it
                ch.kills.append(update.task_id)
            return
        if row.status is update.state or not can_transition(row.status, update.state):
            return
        self.move(ch, row, update.state, update.message)

    def _unthrottle(self, ch: Changes) -> None:
        for row in ch.in_state(S.THROTTLED):
            if row.throttle_until is None or row.throttle_until <= ch.now:
                ch.move(row, S.PENDING, "Penalty served", throttle_until=None)

    def _expire_transient(self, ch: Changes) -> None:
        limit = self.settings.transient_timeout_secs
        for state in (S.ASSIGNED, S.STARTING):
            for row in ch.in_state(state):
                if ch.now - row.status_at > limit:
                    self.move(ch, row, S.LOST, f"Task timed out in {state}")
                    ch.kills.append(row.task_id)

    def _advance_restarts(self, ch: Changes) -> None:
        for restart in list(self.restarts.values()):
            advanced = advance_restart(ch, restart, self.move)
            if advanced != restart:
                ch.restarts.append(advanced)

    def _place(self, ch: Changes) -> tuple[int, int, int]:
        pending = sorted(ch.in_state(S.PENDING), key=lambda r: (r.created_at, r.instance))
        if not pending:
            return 0, 0, 0
        offers = self.backend.offers()
        for offer in offers:
            self.agent_attributes[offer.agent_id] = (offer.hostname, dict(offer.attributes))
        demands = {r.config_id: self.demand(r.config_id, r.job_key) for r in pending}
        counts = AttributeCounts()
        if any(isinstance(c, LimitConstraint) for d in demands.values() for c in d.constraints):
            for active in self.cache.by_id.values():
                known = self.agent_attributes.get(active.agent_id or "")
                if active.status in LAUNCHED and known is not None:
                    counts.add(active.job_key, known[1], known[0])
        result = self.placer.place(
            [PendingTask(r.task_id, r.config_id) for r in pending], demands, offers, counts)
        for a in result.assignments:
            placed = ch.get(a.task_id)
            if placed is None:
                continue
            ch.move(placed, S.ASSIGNED, f"Assigned to {a.hostname}", agent_id=a.agent_id,
                    host=a.hostname, ports=a.ports)
            ch.launches.append(a.task_id)
        self.pending_reasons.update(result.vetoes)
        return len(result.assignments), len(result.vetoes), len(offers)

    # -- history pruning -----------------------------------------------------------------

    def prune(self, now: float) -> int:
        """Drop terminal tasks older than the maximum age, or beyond the count per job."""
        s = self.settings
        by_job: dict[str, list[TaskRow]] = {}
        for row in self.store.tasks(statuses=TERMINAL):
            by_job.setdefault(row.job_key, []).append(row)
        doomed: list[str] = []
        for rows in by_job.values():
            rows.sort(key=lambda r: r.status_at, reverse=True)
            for index, row in enumerate(rows):
                age = now - row.status_at
                if age < s.history_min_age_secs:
                    continue
                if age > s.history_max_age_secs or index >= s.history_max_per_job:
                    doomed.append(row.task_id)
        if doomed:
            with self.store.transaction() as tx:
                tx.delete_tasks(doomed)
        self.metrics.pruned += len(doomed)
        return len(doomed)
