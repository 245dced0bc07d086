"""REST routes of cron jobs (``/api/v1/cron``); ``register(app, jobs)`` adds them.

Reads need any valid token; scheduling, descheduling and starting need the job's role or
admin. The run history (``.../runs``) is what a "next run finished" sensor polls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query

from aurora_provider.api import models as m
from aurora_provider.framework.auth import Authenticator
from aurora_provider.framework.cron import CronRun, CronTemplate, next_times
from aurora_provider.framework.jobs import JobService
from aurora_provider.framework.ops import operations_of
from aurora_provider.framework.routes_common import User, job_path

_PREFIX = "/api/v1/cron"
NEXT_RUNS = 5


def run_model(cluster: str, run: CronRun) -> m.CronRunModel:
    return m.CronRunModel(
        run_id=run.run_id, key=f"{cluster}/{run.job_key}", scheduled_at=run.scheduled_at,
        triggered_at=run.triggered_at, started_at=run.started_at,
        state=run.state,  # type: ignore[arg-type]
        outcome=run.outcome, task_ids=list(run.task_ids), finished_at=run.finished_at,
        message=run.message)


def register(app: FastAPI, jobs: JobService) -> None:
    core = jobs.core
    cluster = core.settings.cluster

    def job_model(t: CronTemplate) -> m.CronJobModel:
        service = operations_of(core).cron
        runs = service.runs(t.job_key, limit=1)
        return m.CronJobModel(
            key=f"{cluster}/{t.job_key}", schedule=t.schedule, collision_policy=t.policy,
            timezone=t.timezone, catch_up=t.catch_up, instances=int(t.config["instances"]),
            next_runs=next_times(t.schedule, t.timezone, core.clock(), NEXT_RUNS),
            created_at=t.created_at, updated_at=t.updated_at,
            last_run=run_model(cluster, runs[0]) if runs else None)

    @app.post(_PREFIX, response_model=m.CronJobModel, status_code=201, tags=["cron"])
    def schedule(body: m.CronScheduleRequest, user: User) -> m.CronJobModel:
        """Create or replace a cron job's template."""
        Authenticator.require_role(user, body.job.key.role)
        return job_model(operations_of(core).cron.schedule(body.job))

    @app.get(_PREFIX, response_model=m.CronJobList, tags=["cron"])
    def list_cron(user: User) -> m.CronJobList:
        return m.CronJobList(jobs=[job_model(t) for t in operations_of(core).cron.templates()])

    @app.get(_PREFIX + "/{role}/{environment}/{name}", response_model=m.CronJobModel,
             tags=["cron"])
    def show(role: str, environment: str, name: str, user: User) -> m.CronJobModel:
        return job_model(operations_of(core).cron.get(job_path(role, environment, name)))

    @app.delete(_PREFIX + "/{role}/{environment}/{name}", response_model=m.CronJobModel,
                tags=["cron"])
    def deschedule(role: str, environment: str, name: str, user: User) -> m.CronJobModel:
        key = job_path(role, environment, name)
        Authenticator.require_role(user, role)
        service = operations_of(core).cron
        model = job_model(service.get(key))
        service.deschedule(key)
        return model

    @app.post(_PREFIX + "/{role}/{environment}/{name}/start", response_model=m.CronRunModel,
              status_code=202, tags=["cron"])
    def start(role: str, environment: str, name: str, user: User) -> m.CronRunModel:
        key = job_path(role, environment, name)
        Authenticator.require_role(user, role)
        return run_model(cluster, operations_of(core).cron.start(key))

    @app.get(_PREFIX + "/{role}/{environment}/{name}/runs", response_model=m.CronRunList,
             tags=["cron"])
    def runs(role: str, environment: str, name: str, user: User,
             limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> m.CronRunList:
        key = job_path(role, environment, name)
        found = operations_of(core).cron.runs(key, limit)
        return m.CronRunList(key=f"{cluster}/{key}",
                             runs=[run_model(cluster, r) for r in found])
