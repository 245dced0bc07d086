"""Cron jobs: templates triggered on a ``cron_schedule``, with Aurora's collision policies.

A cron job is a template, not a running job. Each trigger (from the schedule, or ``start``
by hand) is a *run* (``states.cron_run``): it creates the job's instances from the template
and is recorded with its scheduled time, start time, task ids and, once every task of the job
is terminal, its outcome. When the previous run is still active, KILL_EXISTING (the default)
kills it and starts once it is gone; CANCEL_NEW records the new run as CANCELLED. RUN_OVERLAP
is refused, as Aurora refused it.

Schedules are read in UTC, or in the zone named by the job's metadata ``cron_timezone``.
Triggers that fell while the scheduler was down are skipped (Aurora lost them), except that
a job with the metadata ``cron_catch_up=true`` runs the latest one once. Everything moves in
``before_round()`` (a round hook) with the scheduler's clock.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

from aurora_provider.api.errors import Conflict, CronJobNotFound, InvalidRequest
from aurora_provider.framework.core.ledger import TaskLedger
from aurora_provider.framework.core.ports import QuotaCheck
from aurora_provider.framework.jobs.admission import Admission
from aurora_provider.framework.model.cron import CronRun, CronTemplate
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.operations.schedules import (
    check_schedule,
    check_zone,
    next_times,
    previous_time,
)
from aurora_provider.framework.storage.database import Transaction
from aurora_provider.framework.storage.rows import JobRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.cron_run import MACHINE, CronOutcome, CronRunState
from aurora_provider.states.task import TaskState

log = logging.getLogger(__name__)
S = TaskState
R = CronRunState

KILL_EXISTING = "KILL_EXISTING"
CANCEL_NEW = "CANCEL_NEW"
POLICIES = (KILL_EXISTING, CANCEL_NEW)


def outcome_of(finals: list[TaskState]) -> CronOutcome:
    """A run's outcome: the worst end among its instances' last tasks."""
    if not finals:
        return CronOutcome.UNKNOWN
    for state, outcome in ((S.FAILED, CronOutcome.FAILED), (S.LOST, CronOutcome.LOST),
                           (S.KILLED, CronOutcome.KILLED)):
        if state in finals:
            return outcome
    return CronOutcome.FINISHED


class CronService:
    def __init__(self, ledger: TaskLedger, store: Store, admission: Admission,
                 quota: QuotaCheck) -> None:
        self._ledger = ledger
        self._store = store
        self._admission = admission
        self._quota = quota
        self._templates: dict[str, CronTemplate] = {}
        # Runs not DONE, oldest first: at most a RUNNING one being killed and a WAITING one.
        self._open: dict[str, list[CronRun]] = {}

    def _full(self, job_key: str) -> str:
        return f"{self._admission.cluster}/{job_key}"

    # -- start-up -------------------------------------------------------------------------

    def recover(self) -> None:
        """Read templates and open runs; skip (or catch up once) triggers missed while down."""
        with self._ledger.lock:
            self._templates = {t.job_key: t for t in self._store.cron.templates()}
            self._open = {}
            for run in self._store.cron.open_runs():
                self._open.setdefault(run.job_key, []).append(run)
            now = self._ledger.now()
            for t in list(self._templates.values()):
                if t.next_run_at is None or t.next_run_at > now:
                    continue
                missed = previous_time(t.schedule, t.timezone, now)
                if t.catch_up:
                    log.info("cron %s: running the trigger of %s missed while down", t.job_key,
                             datetime.fromtimestamp(missed, UTC).isoformat())
                    self._trigger(t, missed, "catch-up of a trigger missed while down")
                else:
                    log.info("cron %s: skipping triggers missed while the scheduler was down",
                             t.job_key)
                self._save_next(t, now)

    def _save_next(self, t: CronTemplate, now: float) -> None:
        nxt = next_times(t.schedule, t.timezone, now, 1)[0]
        with self._store.transaction() as tx:
            self._store.cron.set_next_run(tx, t.job_key, nxt)
        self._templates[t.job_key] = replace(t, next_run_at=nxt)

    # -- operations ---------------------------------------------------------------------

    def schedule(self, config: JobConfig) -> CronTemplate:
        """Create or replace a cron job's template."""
        where = f"job {config.key}"
        self._admission.for_cron(config)
        schedule = config.cron_schedule or ""
        check_schedule(schedule, where)
        if config.task.is_service:
            raise InvalidRequest(f"{where}: a service cannot run on a cron schedule")
        policy = config.cron_collision_policy or KILL_EXISTING
        if policy == "RUN_OVERLAP":
            raise InvalidRequest(f"{where}: cron_collision_policy RUN_OVERLAP is not supported "
                                 "(Aurora removed it); use KILL_EXISTING or CANCEL_NEW")
        if policy not in POLICIES:
            raise InvalidRequest(f"{where}: cron_collision_policy {policy!r} must be "
                                 "KILL_EXISTING or CANCEL_NEW")
        probe = CronTemplate(config.job_key, config, schedule, policy, None, 0, 0)
        check_zone(probe.timezone, where)
        job_key = config.job_key
        with self._ledger.lock:
            if job_key not in self._templates and self._store.jobs.job(job_key) is not None:
                raise Conflict(f"{where} exists and is not a cron job; kill it first")
            self._admission.check_role_jobs(config)  # under the lock creates take too
            self._quota.check(config, config.instances, replaces=job_key)
            now = self._ledger.now()
            old = self._templates.get(job_key)
            template = replace(probe, created_at=old.created_at if old else now, updated_at=now,
                               next_run_at=next_times(schedule, probe.timezone, now, 1)[0])
            with self._store.transaction() as tx:
                self._store.cron.save_template(tx, template)
            self._templates[job_key] = template
        return template

    def deschedule(self, job_key: str) -> CronTemplate:
        """Remove the template; a run in progress keeps running (as in Aurora)."""
        with self._ledger.lock:
            template = self.get(job_key)
            with self._store.transaction() as tx:
                self._store.cron.delete_template(tx, job_key)
            del self._templates[job_key]
        return template

    def get(self, job_key: str) -> CronTemplate:
        found = self._templates.get(job_key)
        if found is None:
            raise CronJobNotFound(f"no cron job {self._full(job_key)} is scheduled")
        return found

    def templates(self) -> list[CronTemplate]:
        return sorted(self._templates.values(), key=lambda t: t.job_key)

    def start(self, job_key: str) -> CronRun:
        """Trigger a run now, under the job's collision policy."""
        with self._ledger.lock:
            return self._trigger(self.get(job_key), None, "started by hand")

    def runs(self, job_key: str, limit: int = 20) -> list[CronRun]:
        """The job's runs, newest first."""
        return self._store.cron.runs(job_key, limit)

    # -- the round -------------------------------------------------------------------------

    def before_round(self) -> None:
        """Advance open runs, then fire due triggers (under the ledger's lock)."""
        now = self._ledger.now()
        for job_key in list(self._open):
            self._advance(job_key)
        for t in list(self._templates.values()):
            if t.next_run_at is not None and t.next_run_at <= now:
                self._trigger(t, t.next_run_at, None)
                self._save_next(t, now)

    def _advance(self, job_key: str) -> None:
        if self._ledger.active(job_key):
            return  # a run (or the one being killed for the next) is still active
        runs = list(self._open.get(job_key, []))
        for run in runs:
            if run.state is R.RUNNING:
                self._finish(run, self._outcome(run), None)
        waiting = [r for r in runs if r.state is R.WAITING]
        for stale in waiting[:-1]:
            self._finish(stale, CronOutcome.CANCELLED, "superseded by a later run")
        if waiting:
            template = self._templates.get(job_key)
            if template is None:
                self._finish(waiting[-1], CronOutcome.CANCELLED,
                             "descheduled before it could start")
            else:
                self._launch(template, waiting[-1])

    def _outcome(self, run: CronRun) -> CronOutcome:
        """From the last task of each instance created since the run started."""
        started = run.started_at or 0.0
        latest: dict[int, tuple[float, TaskState]] = {}
        for row in self._store.tasks.tasks(job_key=run.job_key):
            seen = latest.get(row.instance)
            if row.created_at >= started and (seen is None or row.created_at >= seen[0]):
                latest[row.instance] = (row.created_at, row.status)
        return outcome_of([state for _, state in latest.values()])

    def _finish(self, run: CronRun, outcome: CronOutcome, message: str | None) -> None:
        done = replace(run, state=MACHINE.transition(str(run.run_id), run.state, R.DONE),
                       outcome=outcome, finished_at=self._ledger.now(),
                       message=message or run.message)
        with self._store.transaction() as tx:
            self._store.cron.save_run(tx, done)
        self._set_open(run.job_key, [r for r in self._open.get(run.job_key, [])
                                     if r.run_id != run.run_id])

    def _set_open(self, job_key: str, runs: list[CronRun]) -> None:
        if runs:
            self._open[job_key] = runs
        else:
            self._open.pop(job_key, None)

    def _trigger(self, t: CronTemplate, scheduled_at: float | None,
                 message: str | None) -> CronRun:
        now = self._ledger.now()
        run = CronRun(0, t.job_key, scheduled_at, now, None, R.WAITING, None, (), None,
                      message)
        active = self._ledger.active(t.job_key)
        if not active:
            self._advance(t.job_key)  # settle a run that ended since the last round
            active = self._ledger.active(t.job_key)
        open_runs = self._open.get(t.job_key, [])
        if not active and not open_runs:
            return self._launch(t, run, new=True)
        if t.policy == CANCEL_NEW or any(r.state is R.WAITING for r in open_runs):
            why = f"{t.policy}: the previous run is still active"
            cancelled = replace(run, state=R.DONE, outcome=CronOutcome.CANCELLED,
                                finished_at=now, message=why)
            with self._store.transaction() as tx:
                cancelled = self._store.cron.add_run(tx, cancelled)
            log.info("cron %s: run %d cancelled (%s)", t.job_key, cancelled.run_id, why)
            return cancelled
        # KILL_EXISTING: kill what runs now; the run starts once it is gone.
        ch = self._ledger.changes()
        for row in active:
            self._ledger.kill(ch, row, f"Killed by cron ({KILL_EXISTING}) for a new run")
        added: list[CronRun] = []
        ch.also(lambda tx: added.append(self._store.cron.add_run(tx, run)),
                lambda: self._open.setdefault(t.job_key, []).append(added[0]))
        self._ledger.commit(ch)
        return added[0]

    def _launch(self, t: CronTemplate, run: CronRun, *, new: bool = False) -> CronRun:
        """Create the run's tasks from the template; ``run`` is new or the WAITING one."""
        ledger = self._ledger
        now = ledger.now()
        with self._store.transaction() as tx:
            config_id = self._store.jobs.add_config(tx, t.config, now)
        ch = ledger.changes()
        rows = ledger.create(ch, t.job_key, config_id, range(t.config.instances),
                             "Launched by cron")
        running = replace(run, state=MACHINE.transition(str(run.run_id), run.state, R.RUNNING),
                          started_at=now, task_ids=tuple(r.task_id for r in rows))
        job = JobRow(t.job_key, t.config.key.cluster, config_id, now, now)
        saved: list[CronRun] = []

        def persist(tx: Transaction) -> None:
            self._store.jobs.save(tx, job)
            if new:
                saved.append(self._store.cron.add_run(tx, running))
            else:
                self._store.cron.save_run(tx, running)
                saved.append(running)

        ch.also(persist)
        ledger.commit(ch)
        others = [r for r in self._open.get(t.job_key, []) if new or r.run_id != run.run_id]
        self._open[t.job_key] = [*others, saved[0]]
        log.info("cron %s: run %d started %d task(s)", t.job_key, saved[0].run_id, len(rows))
        return saved[0]
