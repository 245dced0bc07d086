"""The round of the job update controller: each scheduling round moves every active update on.

It evaluates the instances in flight (``update_instance.decide``), starts the next group of
the batch strategy, and changes the update's status on success, failure, a missed pulse or an
autopause. Each update's task changes, progress and events are committed in one transaction
(``Scheduler.commit``) before any kill or launch is sent; an update that raises ends in ERROR
without stopping the others.
"""

from __future__ import annotations

import logging

from aurora_provider.framework.changes import Changes
from aurora_provider.framework.core import Scheduler, new_task_id
from aurora_provider.framework.state import TaskState
from aurora_provider.framework.storage import JobRow, TaskRow
from aurora_provider.framework.storage.store import Transaction
from aurora_provider.framework.update_instance import Next, decide
from aurora_provider.framework.update_plan import next_group, ordered, task_digest
from aurora_provider.framework.update_state import (
    FORWARD,
    ROLLING,
    TERMINAL,
    UpdateStatus,
    awaiting_pulse,
    done_action,
    failed_action,
    paused,
    transition,
    working_action,
)
from aurora_provider.framework.update_store import (
    FAILED,
    IDLE,
    SUCCEEDED,
    WORKING,
    InstanceEvent,
    InstanceProgress,
    UpdateEvent,
    UpdateReader,
    UpdateRecord,
    UpdateWrite,
)

log = logging.getLogger("aurora_provider.framework.updates")
S = TaskState
U = UpdateStatus


class UpdateRound:
    """The active updates of one core and what each round does to them."""

    def __init__(self, core: Scheduler) -> None:
        self.core = core
        self.reader = UpdateReader(core.store)
        self.active: dict[str, UpdateRecord] = {}  # by job key
        self._digests: dict[int, str] = {}

    def digest(self, config_id: int) -> str:
        found = self._digests.get(config_id)
        if found is None:
            found = task_digest(self.core.store.config(config_id))
            self._digests[config_id] = found
        return found

    # -- the round -------------------------------------------------------------------------

    def advance(self) -> None:
        """One step of every active update (a core round hook; runs under the core's lock)."""
        for current in list(self.active.values()):
            self._advance_one(current)

    def _advance_one(self, current: UpdateRecord) -> None:
        """Step one update and commit it on its own: a broken update cannot stop others."""
        ch = self.core.changes()
        write = UpdateWrite()
        record = current.copy()
        try:
            changed = self._step(ch, record, write)
        except Exception as e:  # a bug or bad data: this update ends, scheduling goes on
            log.exception("update %s of %s failed", current.update_id, current.job_key)
            ch, write, record = self.core.changes(), UpdateWrite(), current.copy()
            self._set(record, U.ERROR, write, None, f"internal error: {type(e).__name__}: {e}")
            changed = True
        if not (changed or ch.rows or ch.kills):
            return
        if changed:
            write.records.append(record)
        self._commit(ch, record, write)

    def _commit(self, ch: Changes, record: UpdateRecord, write: UpdateWrite) -> None:
        """Persist the task changes with the update's own writes, then make it current."""

        def persist(tx: Transaction) -> None:
            write.apply(tx.connection)
            if record.status in TERMINAL:
                self._save_job(tx, record)

        self.core.commit(ch, persist)
        self._publish(record)

    def _step(self, ch: Changes, r: UpdateRecord, write: UpdateWrite) -> bool:
        """Move one update on; True when it changed."""
        in_flight = [i for i, p in r.progress.items() if p.state == WORKING]
        before = self._shape(r, in_flight)
        forward = r.status in FORWARD
        if r.status in ROLLING and self._pulse_due(r):
            seconds = r.settings.pulse_interval_secs
            self._set(r, awaiting_pulse(forward), write, None, f"no pulse within {seconds:g} s")
        # ``ch`` is fresh (this hook runs before the round gathers changes): the cache is
        # the current state of the job's tasks.
        tasks: dict[int, list[TaskRow]] = {}
        for row in self.core.cache.job_tasks(r.job_key):
            tasks.setdefault(row.instance, []).append(row)
        # Instances in flight always finish, even when paused: none is left half-replaced.
        completed = False
        for instance in in_flight:
            completed |= self._evaluate(ch, r, instance, r.progress[instance], tasks, write,
                                        forward)
        if r.status in ROLLING:
            self._conclude_or_continue(ch, r, tasks, write, forward, completed)
        return before != self._shape(r, in_flight)

    @staticmethod
    def _shape(r: UpdateRecord, instances: list[int]) -> tuple[object, ...]:
        """What a step may change (new groups also change ``groups_started``)."""
        progress = [r.progress.get(i) for i in instances]
        return (r.status, r.groups_started, len(r.progress),
                [(p.state, p.failures, p.task_id) if p else None for p in progress])

    def _conclude_or_continue(self, ch: Changes, r: UpdateRecord,
                              tasks: dict[int, list[TaskRow]], write: UpdateWrite,
                              forward: bool, completed: bool) -> None:
        s = r.settings
        failed = sum(1 for p in r.progress.values() if p.state == FAILED)
        if failed > s.max_total_failures:
            text = f"{failed} instance(s) failed, more than max_total_failures " \
                   f"{s.max_total_failures}"
            if forward and s.rollback_on_failure:
                self._start_rollback(r, write, None, text)
            else:
                self._set(r, U.FAILED, write, None, text)
            return
        plan = sorted(r.progress)
        for _ in range(len(plan) + 1):  # start groups until one is in flight or none is left
            working = sum(1 for p in r.progress.values() if p.state == WORKING)
            idle = ordered([i for i, p in r.progress.items() if p.state == IDLE], forward)
            if not idle and not working:
                self._set(r, U.ROLLED_FORWARD if forward else U.ROLLED_BACK, write, None, None)
                return
            if completed and not working and s.autopause_after_batch and idle:
                self._set(r, paused(forward), write, None, "paused after a batch "
                          "(autopause_after_batch)")
                return
            group = next_group(s, idle, working, r.groups_started, forward, plan)
            if not group:
                return
            r.groups_started += 1
            for instance in group:
                p = r.progress[instance]
                p.state = WORKING
                write.instance_events.append(
                    (r.update_id, InstanceEvent(instance, ch.now, working_action(forward))))
                completed |= self._evaluate(ch, r, instance, p, tasks, write, forward)
            if any(p.state == WORKING for p in r.progress.values()):
                return

    def _evaluate(self, ch: Changes, r: UpdateRecord, instance: int, p: InstanceProgress,
                  tasks: dict[int, list[TaskRow]], write: UpdateWrite, forward: bool) -> bool:
        """Act on one instance in flight; True when it finished (succeeded or failed)."""
        decision = decide(p, tasks.get(instance, []), now=ch.now,
                          watch_secs=r.settings.watch_secs,
                          tolerated_failures=r.settings.max_per_shard_failures,
                          digest=self.digest)
        if decision.next is Next.SUCCEEDED or decision.next is Next.FAILED:
            ok = decision.next is Next.SUCCEEDED
            p.state = SUCCEEDED if ok else FAILED
            action = done_action(forward) if ok else failed_action(forward)
            write.instance_events.append((r.update_id, InstanceEvent(instance, ch.now, action)))
            return True
        if decision.next is Next.KILL:
            text = f"Killed for job update {r.update_id}"
            for task in decision.tasks:
                self.core.kill(ch, task, text)
        elif decision.next is Next.ADD and p.desired is not None:
            row = self._add_task(ch, r, instance, p.desired)
            p.task_id = row.task_id
            tasks.setdefault(instance, []).append(row)
        return False

    @staticmethod
    def _add_task(ch: Changes, r: UpdateRecord, instance: int, config_id: int) -> TaskRow:
        row = ch.create(TaskRow(
            task_id=new_task_id(r.job_key, instance), job_key=r.job_key, instance=instance,
            config_id=config_id, status=S.INIT, created_at=ch.now, status_at=ch.now),
            f"Added by job update {r.update_id}")
        return ch.move(row, S.PENDING)

    # -- status changes ------------------------------------------------------------------

    def _set(self, r: UpdateRecord, target: UpdateStatus, write: UpdateWrite,
             user: str | None, message: str | None) -> None:
        r.status = transition(r.update_id, r.status, target)
        r.updated_at = self.core.clock()
        write.events.append((r.update_id, UpdateEvent(r.updated_at, target, user, message)))

    def _start_rollback(self, r: UpdateRecord, write: UpdateWrite, user: str | None,
                        message: str | None) -> None:
        """Undo the instances this update touched, in the reverse order."""
        self._set(r, U.ROLLING_BACK, write, user, message)
        touched = [i for i, p in r.progress.items() if p.state != IDLE]
        r.progress = {i: InstanceProgress(r.initial.get(i)) for i in sorted(touched)}
        r.groups_started = 0

    def _pulse_due(self, r: UpdateRecord) -> bool:
        interval = r.settings.pulse_interval_secs
        if interval is None:
            return False
        last = r.last_pulse_at
        return last is None or self.core.clock() - last > interval

    def _save_job(self, tx: Transaction, r: UpdateRecord) -> None:
        """At the end: the job's configuration is the new one only if it rolled forward."""
        if not any(self.core.cache.job_tasks(r.job_key)) and r.status is not U.ROLLED_FORWARD:
            return
        existing = self.core.store.job(r.job_key)
        if r.status is U.ROLLED_FORWARD:
            config_id = r.desired_config_id
        elif existing is not None:
            config_id = existing.config_id
        else:
            config_id = max(r.initial.values(), default=r.desired_config_id)
        created = existing.created_at if existing is not None else r.created_at
        tx.save_job(JobRow(r.job_key, r.cluster, config_id, created, r.updated_at))

    def _publish(self, record: UpdateRecord) -> None:
        if record.status in TERMINAL:
            self.active.pop(record.job_key, None)
            log.info("update %s of %s: %s", record.update_id, record.job_key, record.status)
        else:
            self.active[record.job_key] = record
