"""The update engine: each scheduling round moves every active update on (a round step).

It evaluates the instances in flight (``instance.decide``), starts the next group of the
batch strategy, and changes the update's status on success, failure, a missed pulse or an
autopause. It works in the round's changes, after the backend's status updates and before
placement: an instance's task that is RUNNING (or KILLED) in this round is acted on in this
round, and the replacements it adds are placed in it. Every update's task changes, progress
and events commit with the round's, in its one transaction, before any kill or launch is
sent; an update that raises ends in ERROR, its own changes undone, without stopping the
others.
"""

from __future__ import annotations

from dataclasses import replace

from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.model.updates import InstanceEvent, InstanceProgress
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.updates.active import (
    ActiveUpdates,
    Savepoint,
    UpdateChange,
    log,
)
from aurora_provider.framework.updates.instance import Next, decide
from aurora_provider.framework.updates.plan import next_group, ordered
from aurora_provider.framework.updates.sla import SlaGate
from aurora_provider.states.instance_update import (
    InstanceUpdateState,
    done_action,
    failed_action,
    working_action,
)
from aurora_provider.states.update import (
    ROLLING,
    UpdateStatus,
    awaiting_pulse,
    paused,
)

U = UpdateStatus
I = InstanceUpdateState  # noqa: E741


def pulse_due(change: UpdateChange, now: float) -> bool:
    interval = change.record.settings.pulse_interval_secs
    if interval is None:
        return False
    last = change.record.last_pulse_at
    return last is None or now - last > interval


def start_rollback(change: UpdateChange, now: float, user: str | None,
                   message: str | None) -> None:
    """Undo the instances this update touched, in the reverse order."""
    change.set_status(U.ROLLING_BACK, now, user, message)
    r = change.record
    touched = sorted(i for i, p in r.progress.items() if p.state is not I.IDLE)
    change.replace_progress({i: InstanceProgress(r.initial.get(i)) for i in touched})
    change.record = replace(change.record, groups_started=0)


def add_task(updates: ActiveUpdates, ch: Changes, change: UpdateChange, instance: int,
             config_id: int) -> TaskRow:
    (row,) = updates.ledger.create(ch, change.record.job_key, config_id, [instance],
                                   f"Added by job update {change.record.update_id}")
    return row


class UpdateEngine:
    """:param sla: decides the kills of ``sla_aware`` updates (by default one asking the
        job's configurations through ``updates``)."""

    def __init__(self, updates: ActiveUpdates, sla: SlaGate | None = None) -> None:
        self._updates = updates
        self._sla = sla or SlaGate(updates.ledger.config, updates.cluster)

    def during_round(self, ch: Changes) -> None:
        """One step of every active update, in the round's changes (under the ledger's lock)."""
        records = self._updates.records()
        for record in records:
            self._advance(ch, record.job_key)
        self._sla.retain(records)

    def _advance(self, ch: Changes, job_key: str) -> None:
        """Step one update; a broken one ends in ERROR, and its step is undone alone."""
        updates = self._updates
        current = updates.get(job_key)
        if current is None:
            return
        mark = Savepoint(ch)
        change = UpdateChange(current)
        try:
            self._step(ch, change)
        except Exception as e:  # a bug or bad data: this update ends, scheduling goes on
            log.exception("update %s of %s failed", current.update_id, current.job_key)
            mark.undo()
            change = UpdateChange(current)
            change.set_status(U.ERROR, ch.now, None, f"internal error: {type(e).__name__}: {e}")
        # A held instance's reason is an event with no other change.
        if change.changed or mark.changed() or change.write.events:
            updates.stage(ch, change)

    def _step(self, ch: Changes, change: UpdateChange) -> None:
        """Move one update on."""
        before = change.record
        in_flight = before.in_state(I.WORKING)
        forward = before.forward
        if before.status in ROLLING and pulse_due(change, ch.now):
            seconds = before.settings.pulse_interval_secs
            change.set_status(awaiting_pulse(forward), ch.now, None,
                              f"no pulse within {seconds:g} s")
        tasks = ch.by_instance(before.job_key)
        # Instances in flight always finish, even when paused: none is left half-replaced.
        completed = False
        for instance in in_flight:
            completed |= self._evaluate(ch, change, instance, tasks, forward)
        if change.record.status in ROLLING:
            self._conclude_or_continue(ch, change, tasks, forward, completed)

    def _conclude_or_continue(self, ch: Changes, change: UpdateChange,
                              tasks: dict[int, list[TaskRow]], forward: bool,
                              completed: bool) -> None:
        s = change.record.settings
        failed = len(change.record.in_state(I.FAILED))
        if failed > s.max_total_failures:
            text = (f"{failed} instance(s) failed, more than max_total_failures "
                    f"{s.max_total_failures}")
            if forward and s.rollback_on_failure:
                start_rollback(change, ch.now, None, text)
            else:
                change.set_status(U.FAILED, ch.now, None, text)
            return
        plan = sorted(change.record.progress)
        for _ in range(len(plan) + 1):  # start groups until one is in flight or none is left
            r = change.record
            working = len(r.in_state(I.WORKING))
            idle = ordered(r.in_state(I.IDLE), forward)
            if not idle and not working:
                change.set_status(U.ROLLED_FORWARD if forward else U.ROLLED_BACK, ch.now,
                                  None, None)
                return
            if completed and not working and s.autopause_after_batch and idle:
                change.set_status(paused(forward), ch.now, None,
                                  "paused after a batch (autopause_after_batch)")
                return
            group = next_group(s, idle, working, r.groups_started, forward, plan)
            if not group:
                return
            change.record = replace(r, groups_started=r.groups_started + 1)
            for instance in group:
                change.set_progress(instance, change.record.progress[instance].with_state(
                    instance, I.WORKING))
                change.instance_event(InstanceEvent(instance, ch.now, working_action(forward)))
                completed |= self._evaluate(ch, change, instance, tasks, forward)
            if change.record.in_state(I.WORKING):
                return

    def _evaluate(self, ch: Changes, change: UpdateChange, instance: int,
                  tasks: dict[int, list[TaskRow]], forward: bool) -> bool:
        """Act on one instance in flight; True when it finished (succeeded or failed)."""
        r = change.record
        decision = decide(r.progress[instance], tasks.get(instance, []), now=ch.now,
                          watch_secs=r.settings.watch_secs,
                          tolerated_failures=r.settings.max_per_shard_failures,
                          identity=self._updates.identity)
        progress = decision.progress
        finished = decision.next in (Next.SUCCEEDED, Next.FAILED)
        if finished:
            ok = decision.next is Next.SUCCEEDED
            progress = progress.with_state(instance, I.SUCCEEDED if ok else I.FAILED)
            action = done_action(forward) if ok else failed_action(forward)
            change.instance_event(InstanceEvent(instance, ch.now, action))
        elif decision.next is Next.KILL:
            text = f"Killed for job update {r.update_id}"
            for task in decision.tasks:
                # One at a time: each kill counts against the SLA of the next. A held
                # instance is not killed while its update is paused or awaits a pulse.
                if not r.settings.sla_aware or (change.record.status in ROLLING and
                                                self._sla.allows(ch, change, instance, task)):
                    self._updates.ledger.kill(ch, task, text)
        elif decision.next is Next.ADD and progress.desired is not None:
            row = add_task(self._updates, ch, change, instance, progress.desired)
            progress = progress.with_task(row.task_id)
            tasks.setdefault(instance, []).append(row)
        change.set_progress(instance, progress)
        return finished
