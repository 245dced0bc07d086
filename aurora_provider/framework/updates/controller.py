"""Starting updates and the user's actions on them (pause, resume, abort, rollback, pulse),
and the queries. One active update per job; every change is persisted before it is acted on,
so after a scheduler restart an update continues from what was persisted.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace

from aurora_provider.api.errors import Conflict, InvalidRequest, UpdateNotFound
from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.core.ports import JobGuards, QuotaCheck
from aurora_provider.framework.jobs.admission import Admission
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.model.updates import (
    InstanceEvent,
    InstanceProgress,
    UpdateEvent,
    UpdateRecord,
)
from aurora_provider.framework.storage.rows import JobRow
from aurora_provider.framework.updates.active import ActiveUpdates, UpdateChange, log
from aurora_provider.framework.updates.engine import add_task, pulse_due, start_rollback
from aurora_provider.framework.updates.plan import instance_scope, settings_from_wire
from aurora_provider.states.instance_update import InstanceUpdateState
from aurora_provider.states.machine import IllegalTransition
from aurora_provider.states.task import TaskState
from aurora_provider.states.update import (
    AWAITING_PULSE,
    FORWARD,
    PAUSED,
    TERMINAL,
    UpdateStatus,
    awaiting_pulse,
    paused,
    rolling,
)

S = TaskState
U = UpdateStatus


class UpdateAction(enum.StrEnum):
    """What a user may do to a job's active update."""

    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"
    ROLLBACK = "rollback"
    PULSE = "pulse"


class UpdateController:
    def __init__(self, updates: ActiveUpdates, admission: Admission, quota: QuotaCheck,
                 guards: JobGuards) -> None:
        self._updates = updates
        self._admission = admission
        self._quota = quota
        self._guards = guards

    def _full(self, job_key: str) -> str:
        return f"{self._updates.cluster}/{job_key}"

    # -- starting ------------------------------------------------------------------------

    def start(self, config: JobConfig, user: str, message: str | None = None,
              instances: Collection[int] | None = None) -> UpdateRecord:
        """Start an update of the job to ``config``; ``instances`` limits it to those (the
        others keep their configuration). A job that does not exist is created by it."""
        updates = self._updates
        ledger = updates.ledger
        self._admission.for_update(config)
        job_key = config.job_key
        settings = settings_from_wire(config.update_config, config.instances)
        only = None if instances is None else frozenset(instances)
        with ledger.lock:
            self._guards.check(job_key)
            active = updates.get(job_key)
            if active is not None:
                raise Conflict(f"job {config.key} already has an active update "
                               f"{active.update_id}; pause, abort or wait for it")
            initial = {r.instance: r.config_id for r in ledger.active(job_key)
                       if r.status is not S.KILLING}  # an instance being killed is gone
            creates = not initial and updates.store.jobs.job(job_key) is None
            if creates:
                self._admit_new_job(config)
            scope = instance_scope(
                str(config.key), config.instances, initial, only,
                changed=lambda i: updates.identity(initial[i]) != config.identity)
            after = len(set(initial) - set(scope["remove"])) + len(scope["add"])
            # The job's instances after the update, each counted at the new configuration's
            # size (exact when a scope leaves out instances of the same size).
            self._quota.check(config, after, replaces=job_key)
            now = ledger.now()
            with updates.store.transaction() as tx:
                config_id = updates.store.jobs.add_config(tx, config, now)
            status = U.ROLL_FORWARD_AWAITING_PULSE if settings.pulse_interval_secs else \
                U.ROLLING_FORWARD
            record = UpdateRecord(
                update_id=str(uuid.uuid4()), job_key=job_key, cluster=config.key.cluster,
                status=status, user=user, created_at=now, updated_at=now, settings=settings,
                desired_config_id=config_id, desired_instances=after,
                initial=initial, scope=scope, message=message,
                progress={i: InstanceProgress(None if i in scope["remove"] else config_id)
                          for i in sorted(set().union(*scope.values()))},
                only_instances=None if only is None else tuple(sorted(only)),
                creates_job=creates)
            change = UpdateChange(record, new=True)
            change.write.events.append((record.update_id,
                                        UpdateEvent(now, status, user, message)))
            ch = ledger.changes()
            if creates:  # the job exists from now on: listed, and counted against its role
                job = JobRow(job_key, config.key.cluster, config_id, now, now)
                ch.also(lambda tx: updates.store.jobs.save(tx, job))
            updates.commit(ch, change)
            log.info("update %s of %s started by %s%s%s: %s", record.update_id, config.key,
                     user, " (creates the job)" if creates else "",
                     "" if only is None else f" on {len(only)} instance(s)",
                     {k: len(v) for k, v in scope.items()})
            return record

    def _admit_new_job(self, config: JobConfig) -> None:
        """The checks of ``aurora job create``, for an update that creates its job."""
        self._admission.for_create(config)
        if self._updates.store.cron.is_cron_job(config.job_key):
            raise Conflict(f"job {config.key} is a cron job; deschedule it first")
        self._admission.check_role_jobs(config)

    # -- user actions --------------------------------------------------------------------

    def _active(self, job_key: str, update_id: str | None) -> UpdateRecord:
        record = self._updates.get(job_key)
        if record is None:
            raise Conflict(f"job {self._full(job_key)} has no active update")
        if update_id is not None and update_id != record.update_id:
            raise Conflict(f"update {update_id} is not the active update of "
                           f"{self._full(job_key)} ({record.update_id})")
        return record

    @contextmanager
    def _action(self, job_key: str, update_id: str | None) -> Iterator[UpdateChange]:
        """A user action on the active update, persisted with its events."""
        with self._updates.ledger.lock:
            change = UpdateChange(self._active(job_key, update_id))
            try:
                yield change
            except IllegalTransition as e:
                raise Conflict(str(e)) from e
            ch = self._updates.ledger.changes()
            if change.record.status is U.ABORTED:
                self._fill_emptied(ch, change)
            self._updates.commit(ch, change)

    def _fill_emptied(self, ch: Changes, change: UpdateChange) -> None:
        """An abort stops the update at once; an instance in flight whose old task is
        already being killed gets its new task now, so it is not left without one."""
        tasks = ch.by_instance(change.record.job_key)
        for instance, p in change.record.progress.items():
            live = [t for t in tasks.get(instance, []) if t.status is not S.KILLING]
            if p.state is InstanceUpdateState.WORKING and p.desired is not None and not live:
                add_task(self._updates, ch, change, instance, p.desired)

    def act(self, action: UpdateAction, job_key: str, user: str, message: str | None = None,
            update_id: str | None = None) -> UpdateRecord:
        """``action`` on the job's active update (or the one named by ``update_id``)."""
        if action is UpdateAction.PULSE:
            return self.pulse(job_key, user, update_id)
        steer = {UpdateAction.PAUSE: self.pause, UpdateAction.RESUME: self.resume,
                 UpdateAction.ABORT: self.abort, UpdateAction.ROLLBACK: self.rollback}[action]
        return steer(job_key, user, message, update_id)

    def pause(self, job_key: str, user: str, message: str | None = None,
              update_id: str | None = None) -> UpdateRecord:
        with self._action(job_key, update_id) as change:
            change.set_status(paused(change.record.forward), self._now(), user, message)
        return change.record

    def resume(self, job_key: str, user: str, message: str | None = None,
               update_id: str | None = None) -> UpdateRecord:
        with self._action(job_key, update_id) as change:
            r = change.record
            if r.status not in PAUSED:
                raise Conflict(f"update {r.update_id} is {r.status}, not paused")
            now = self._now()
            target = awaiting_pulse(r.forward) if pulse_due(change, now) else rolling(r.forward)
            change.set_status(target, now, user, message)
        return change.record

    def abort(self, job_key: str, user: str, message: str | None = None,
              update_id: str | None = None) -> UpdateRecord:
        with self._action(job_key, update_id) as change:
            change.set_status(U.ABORTED, self._now(), user, message)
        return change.record

    def rollback(self, job_key: str, user: str, message: str | None = None,
                 update_id: str | None = None) -> UpdateRecord:
        with self._action(job_key, update_id) as change:
            if change.record.status not in FORWARD:
                raise Conflict(f"update {change.record.update_id} is {change.record.status}; "
                               "only an update rolling forward can be rolled back")
            start_rollback(change, self._now(), user, message)
        return change.record

    def pulse(self, job_key: str, user: str, update_id: str | None = None) -> UpdateRecord:
        """Keep a coordinated update going; a blocked one resumes."""
        if update_id is not None and self._updates.get(job_key) is None:
            return self.get(job_key, update_id)  # finished: nothing to pulse
        with self._action(job_key, update_id) as change:
            r = change.record
            if r.settings.pulse_interval_secs is None:
                raise InvalidRequest(f"update {r.update_id} has no pulse_interval_secs; "
                                     "it does not need pulses")
            now = self._now()
            change.record = replace(r, last_pulse_at=now, updated_at=now)
            if r.status in AWAITING_PULSE:
                change.set_status(rolling(r.forward), now, user, "pulsed")
        return change.record

    def _now(self) -> float:
        return self._updates.ledger.now()

    # -- queries -------------------------------------------------------------------------

    def get(self, job_key: str, update_id: str | None = None) -> UpdateRecord:
        """One update of a job: by id, else the active one, else the newest."""
        found = self._updates.store.updates.records(job_key=job_key, update_id=update_id)
        if not found:
            what = f"no update {update_id}" if update_id else "never been updated"
            raise UpdateNotFound(f"job {self._full(job_key)} has {what}")
        active = [r for r in found if r.status not in TERMINAL]
        return active[0] if active else found[0]

    def events(self, update_id: str) -> list[UpdateEvent]:
        return self._updates.store.updates.events(update_id)

    def instance_events(self, update_id: str) -> list[InstanceEvent]:
        return self._updates.store.updates.instance_events(update_id)

    def query(self, *, statuses: frozenset[UpdateStatus] | None = None,
              matches: Callable[[UpdateRecord], bool] = lambda _: True) -> list[UpdateRecord]:
        """Matching updates, newest first. The active ones are those held in memory (what
        the store has committed: a poll during a large update parses no progress); the
        ended ones are read from the store, whose record wins if one ended meanwhile."""
        updates = self._updates
        active = [r for r in updates.records() if statuses is None or r.status in statuses]
        ended = TERMINAL if statuses is None else statuses & TERMINAL
        stored = updates.store.updates.records(statuses=ended) if ended else []
        found = {r.update_id: r for r in active}
        found.update((r.update_id, r) for r in stored)
        newest = sorted(found.values(), key=lambda r: (-r.created_at, r.update_id))
        return [r for r in newest if matches(r)]


