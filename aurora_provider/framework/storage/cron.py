"""Cron templates and their runs (Aurora's cron job store)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.model.cron import CronRun, CronTemplate
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.database import Database, Transaction
from aurora_provider.framework.storage.tables import cron_jobs, cron_runs
from aurora_provider.states.cron_run import CronOutcome, CronRunState

# Runs kept per job, newest first (task history is bounded too).
RUNS_KEPT = 100


def _template(r: sa.Row[Any]) -> CronTemplate:
    return CronTemplate(r.job_key, JobConfig.from_wire(r.config), r.schedule,
                        r.collision_policy, r.next_run_at, r.created_at, r.updated_at)


def _run(r: sa.Row[Any]) -> CronRun:
    return CronRun(r.run_id, r.job_key, r.scheduled_at, r.triggered_at, r.started_at,
                   CronRunState(r.state), CronOutcome(r.outcome) if r.outcome else None,
                   tuple(r.task_ids), r.finished_at, r.message)


class CronRepository:
    def __init__(self, db: Database, runs_kept: int = RUNS_KEPT) -> None:
        self._db = db
        self.runs_kept = runs_kept

    # -- templates -----------------------------------------------------------------------

    def templates(self) -> list[CronTemplate]:
        return [_template(r) for r in self._db.read(sa.select(cron_jobs)
                                                     .order_by(cron_jobs.c.job_key))]

    def is_cron_job(self, job_key: str) -> bool:
        return bool(self._db.read(sa.select(cron_jobs.c.job_key).where(
            cron_jobs.c.job_key == job_key)))

    def save_template(self, tx: Transaction, t: CronTemplate) -> None:
        tx.execute(cron_jobs.delete().where(cron_jobs.c.job_key == t.job_key))
        tx.execute(cron_jobs.insert().values(
            job_key=t.job_key, config=t.config.wire, schedule=t.schedule,
            collision_policy=t.policy, next_run_at=t.next_run_at, created_at=t.created_at,
            updated_at=t.updated_at))

    def set_next_run(self, tx: Transaction, job_key: str, at: float) -> None:
        tx.execute(cron_jobs.update().where(cron_jobs.c.job_key == job_key)
                   .values(next_run_at=at))

    def delete_template(self, tx: Transaction, job_key: str) -> None:
        tx.execute(cron_jobs.delete().where(cron_jobs.c.job_key == job_key))

    def templates_of_role(self, role: str) -> list[CronTemplate]:
        return [_template(r) for r in self._db.read(sa.select(cron_jobs).where(
            cron_jobs.c.job_key.like(f"{role}/%")))]

    # -- runs --------------------------------------------------------------------------------

    def open_runs(self) -> list[CronRun]:
        """Runs not DONE, oldest first."""
        return [_run(r) for r in self._db.read(
            sa.select(cron_runs).where(cron_runs.c.state != CronRunState.DONE.value)
            .order_by(cron_runs.c.run_id))]

    def runs(self, job_key: str, limit: int = 20) -> list[CronRun]:
        """The job's runs, newest first."""
        return [_run(r) for r in self._db.read(
            sa.select(cron_runs).where(cron_runs.c.job_key == job_key)
            .order_by(cron_runs.c.run_id.desc()).limit(limit))]

    def add_run(self, tx: Transaction, run: CronRun) -> CronRun:
        """Insert ``run`` (its ``run_id`` is ignored); the run with its id."""
        values = _run_values(run)
        del values["run_id"]
        run_id = tx.insert(cron_runs, values)
        return replace(run, run_id=run_id)

    def save_run(self, tx: Transaction, run: CronRun) -> None:
        values = _run_values(run)
        del values["run_id"]
        tx.execute(cron_runs.update().where(cron_runs.c.run_id == run.run_id).values(**values))
        if run.state is CronRunState.DONE:
            # Keep the newest runs of each job.
            kept = (sa.select(cron_runs.c.run_id).where(cron_runs.c.job_key == run.job_key)
                    .order_by(cron_runs.c.run_id.desc()).limit(self.runs_kept))
            tx.execute(cron_runs.delete().where(
                cron_runs.c.job_key == run.job_key,
                cron_runs.c.state == CronRunState.DONE.value,
                cron_runs.c.run_id.not_in(kept)))


def _run_values(run: CronRun) -> dict[str, Any]:
    return {"run_id": run.run_id, "job_key": run.job_key, "scheduled_at": run.scheduled_at,
            "triggered_at": run.triggered_at, "started_at": run.started_at,
            "state": run.state.value, "outcome": run.outcome.value if run.outcome else None,
            "task_ids": list(run.task_ids), "finished_at": run.finished_at,
            "message": run.message}
