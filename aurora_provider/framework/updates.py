"""The scheduler-side job update controller (Aurora's ``JobUpdateController``).

One active update per job. This module starts updates and applies the user's actions (pause,
resume, abort, rollback, pulse); ``update_round`` moves the active updates on in every
scheduling round (``advance``, a core round hook). Every change is persisted before it is
acted on, so after a scheduler restart an update continues from what was persisted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aurora_provider.api import models as m
from aurora_provider.framework.changes import Changes
from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.errors import Conflict, InvalidRequest, NotFound
from aurora_provider.framework.jobs import canonical
from aurora_provider.framework.quota import check_quota
from aurora_provider.framework.state import TaskState
from aurora_provider.framework.storage import TaskRow
from aurora_provider.framework.update_plan import settings_from_wire, task_digest
from aurora_provider.framework.update_round import UpdateRound
from aurora_provider.framework.update_state import (
    AWAITING_PULSE,
    FORWARD,
    PAUSED,
    TERMINAL,
    IllegalUpdateTransition,
    UpdateStatus,
    awaiting_pulse,
    paused,
    rolling,
)
from aurora_provider.framework.update_store import (
    WORKING,
    InstanceProgress,
    UpdateEvent,
    UpdateRecord,
    UpdateWrite,
)

log = logging.getLogger(__name__)
S = TaskState
U = UpdateStatus


class UpdateController(UpdateRound):
    """Starts, controls and drives job updates; one per scheduler core."""

    @classmethod
    def attach(cls, core: Scheduler) -> UpdateController:
        """The core's controller: created, recovered and hooked into its rounds once."""
        with core.lock:
            for hook in core.round_hooks:
                owner = getattr(hook, "__self__", None)
                if isinstance(owner, UpdateController):
                    return owner
            controller = cls(core)
            controller.recover()
            core.round_hooks.append(controller.advance)
            core.job_guards.append(controller.holding)
            return controller

    def holding(self, job_key: str) -> str | None:
        """Why ``job_key`` may not be killed, restarted or grown: its active update."""
        record = self.active.get(job_key)
        if record is None:
            return None
        return (f"job {job_key} has an active update {record.update_id} ({record.status}); "
                "abort it (aurora update abort) or wait for it first")

    def recover(self) -> None:
        """Load the active updates from the store (after a scheduler restart)."""
        for record in self.reader.records(statuses=set(U) - TERMINAL):
            self.active[record.job_key] = record
        if self.active:
            log.info("recovered %d active job update(s)", len(self.active))

    # -- starting ------------------------------------------------------------------------

    def start(self, job: m.JobConfiguration, user: str,
              message: str | None = None) -> UpdateRecord:
        core = self.core
        job_key = job.key.path()
        if job.key.cluster != core.settings.cluster:
            raise InvalidRequest(f"job {job.key} is for cluster {job.key.cluster!r}, this "
                                 f"scheduler runs {core.settings.cluster!r}")
        if job.cron_schedule:
            raise InvalidRequest(f"job {job.key} has a cron_schedule: cron jobs are changed "
                                 "with 'aurora cron schedule', not updated")
        if job_key in core.restarts:
            raise Conflict(f"job {job.key} is being restarted; wait for the restart first")
        if job.instances > core.settings.max_instances:
            raise InvalidRequest(f"job {job.key}: {job.instances} instances exceed the limit "
                                 f"of {core.settings.max_instances}")
        settings = settings_from_wire(job.update_config, job.instances)
        wire = job.model_dump(mode="json")
        wanted = task_digest(wire)
        with core.lock:
            if job_key in self.active:
                raise Conflict(f"job {job.key} already has an active update "
                               f"{self.active[job_key].update_id}; pause, abort or wait for it")
            initial = self._current_configs(job_key)
            if not initial and core.store.job(job_key) is None:
                raise NotFound(f"job {job.key} not found; create it with 'aurora job create'")
            desired = set(range(job.instances))
            scope = {
                "add": sorted(desired - set(initial)),
                "remove": sorted(set(initial) - desired),
                "replace": sorted(i for i in desired & set(initial)
                                  if self.digest(initial[i]) != wanted),
            }
            if not any(scope.values()):
                raise InvalidRequest(f"job {job.key} is unchanged by the proposed update")
            check_quota(core, wire, job.instances, replaces=job_key)
            now = core.clock()
            with core.store.transaction() as tx:
                config_id = tx.add_config(job_key, canonical(job), now)
            self._digests.setdefault(config_id, wanted)
            progress = {i: InstanceProgress(config_id if i in desired else None)
                        for i in sorted(set().union(*scope.values()))}
            status = U.ROLL_FORWARD_AWAITING_PULSE if settings.pulse_interval_secs else \
                U.ROLLING_FORWARD
            record = UpdateRecord(
                update_id=str(uuid.uuid4()), job_key=job_key, cluster=job.key.cluster,
                status=status, user=user, created_at=now, updated_at=now, settings=settings,
                desired_config_id=config_id, desired_instances=job.instances, initial=initial,
                scope=scope, progress=progress, message=message)
            write = UpdateWrite(new_records=[record],
                                events=[(record.update_id, UpdateEvent(now, status, user,
                                                                       message))])
            with core.store.transaction() as tx:
                write.apply(tx.connection)
            self.active[job_key] = record
            log.info("update %s of %s started by %s: %s", record.update_id, job.key, user,
                     {k: len(v) for k, v in scope.items()})
            return record

    def _current_configs(self, job_key: str) -> dict[int, int]:
        """The configuration each instance runs now (an instance only being killed is gone)."""
        found: dict[int, int] = {}
        for row in self.core.cache.job_tasks(job_key):
            if row.status is not S.KILLING:
                found[row.instance] = row.config_id
        return found

    # -- user actions --------------------------------------------------------------------

    def _active(self, job_key: str, update_id: str | None) -> UpdateRecord:
        record = self.active.get(job_key)
        if record is None:
            raise Conflict(f"job {self.core.settings.cluster}/{job_key} has no active update")
        if update_id is not None and update_id != record.update_id:
            raise Conflict(f"update {update_id} is not the active update of "
                           f"{self.core.settings.cluster}/{job_key} ({record.update_id})")
        return record

    @contextmanager
    def _change(self, job_key: str, update_id: str | None) -> Iterator[
            tuple[UpdateRecord, UpdateWrite]]:
        """A user action: a copy to change, persisted with its events, then made current."""
        with self.core.lock:
            current = self._active(job_key, update_id)
            record = current.copy()
            write = UpdateWrite(records=[record])
            try:
                yield record, write
            except IllegalUpdateTransition as e:
                raise Conflict(str(e)) from e
            ch = self.core.changes()
            if record.status is U.ABORTED:
                self._fill_emptied(ch, record)
            self._commit(ch, record, write)

    def _fill_emptied(self, ch: Changes, r: UpdateRecord) -> None:
        """An abort stops the update at once; an instance in flight whose old task is
        already being killed gets its new task now, so it is not left without one."""
        tasks: dict[int, list[TaskRow]] = {}
        for row in self.core.cache.job_tasks(r.job_key):
            tasks.setdefault(row.instance, []).append(row)
        for instance, p in r.progress.items():
            live = [t for t in tasks.get(instance, []) if t.status is not S.KILLING]
            if p.state == WORKING and p.desired is not None and not live:
                self._add_task(ch, r, instance, p.desired)

    def pause(self, job_key: str, user: str, message: str | None = None,
              update_id: str | None = None) -> UpdateRecord:
        with self._change(job_key, update_id) as (record, write):
            self._set(record, paused(record.status in FORWARD), write, user, message)
        return record

    def resume(self, job_key: str, user: str, message: str | None = None,
               update_id: str | None = None) -> UpdateRecord:
        with self._change(job_key, update_id) as (record, write):
            if record.status not in PAUSED:
                raise Conflict(f"update {record.update_id} is {record.status}, not paused")
            forward = record.status in FORWARD
            target = awaiting_pulse(forward) if self._pulse_due(record) else rolling(forward)
            self._set(record, target, write, user, message)
        return record

    def abort(self, job_key: str, user: str, message: str | None = None,
              update_id: str | None = None) -> UpdateRecord:
        with self._change(job_key, update_id) as (record, write):
            self._set(record, U.ABORTED, write, user, message)
        return record

    def rollback(self, job_key: str, user: str, message: str | None = None,
                 update_id: str | None = None) -> UpdateRecord:
        with self._change(job_key, update_id) as (record, write):
            if record.status not in FORWARD:
                raise Conflict(f"update {record.update_id} is {record.status}; only an update "
                               "rolling forward can be rolled back")
            self._start_rollback(record, write, user, message)
        return record

    def pulse(self, job_key: str, user: str, update_id: str | None = None) -> UpdateRecord:
        """Keep a coordinated update going; a blocked one resumes."""
        if update_id is not None and self.active.get(job_key, None) is None:
            return self.get(job_key, update_id)  # finished: nothing to pulse
        with self._change(job_key, update_id) as (record, write):
            if record.settings.pulse_interval_secs is None:
                raise InvalidRequest(f"update {record.update_id} has no pulse_interval_secs; "
                                     "it does not need pulses")
            record.last_pulse_at = self.core.clock()
            record.updated_at = record.last_pulse_at
            if record.status in AWAITING_PULSE:
                self._set(record, rolling(record.status in FORWARD), write, user, "pulsed")
        return record

    # -- queries -------------------------------------------------------------------------

    def get(self, job_key: str, update_id: str | None = None) -> UpdateRecord:
        """One update of a job: by id, else the active one, else the newest."""
        found = self.reader.records(job_key=job_key, update_id=update_id)
        if not found:
            what = f"no update {update_id}" if update_id else "never been updated"
            raise NotFound(f"job {self.core.settings.cluster}/{job_key} has {what}")
        active = [r for r in found if r.status not in TERMINAL]
        return active[0] if active else found[0]

    def query(self, *, statuses: frozenset[UpdateStatus] | None = None,
              matches: Callable[[UpdateRecord], bool] = lambda _: True) -> list[UpdateRecord]:
        return [r for r in self.reader.records(statuses=statuses) if matches(r)]

