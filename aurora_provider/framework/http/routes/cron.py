"""Cron jobs: schedule, list, show, deschedule, start now, and their runs.

Reads need any valid token; scheduling, descheduling and starting need the job's role or
admin. The run history (``.../runs``) is what a "next run finished" sensor polls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aurora_provider.api import models as m
from aurora_provider.framework.http.deps import ApiServices, Caller, JobPath, OwnedJob, Services
from aurora_provider.framework.http.routes.jobs import config_of
from aurora_provider.framework.model.cron import CronRun, CronTemplate
from aurora_provider.framework.operations.schedules import next_times

router = APIRouter(prefix="/api/v1/cron", tags=["cron"])
JOB = "/{role}/{environment}/{name}"
NEXT_RUNS = 5


def run_model(cluster: str, run: CronRun) -> m.CronRunModel:
    return m.CronRunModel(
        run_id=run.run_id, key=f"{cluster}/{run.job_key}", scheduled_at=run.scheduled_at,
        triggered_at=run.triggered_at, started_at=run.started_at, state=run.state,
        outcome=run.outcome, task_ids=list(run.task_ids), finished_at=run.finished_at,
        message=run.message)


def job_model(services: ApiServices, t: CronTemplate) -> m.CronJobModel:
    runs = services.cron.runs(t.job_key, limit=1)
    return m.CronJobModel(
        key=f"{services.cluster}/{t.job_key}", schedule=t.schedule, collision_policy=t.policy,
        timezone=t.timezone, catch_up=t.catch_up, instances=t.config.instances,
        next_runs=next_times(t.schedule, t.timezone, services.clock(), NEXT_RUNS),
        created_at=t.created_at, updated_at=t.updated_at,
        last_run=run_model(services.cluster, runs[0]) if runs else None)


@router.post("", response_model=m.CronJobModel, status_code=201)
def schedule(body: m.CronScheduleRequest, services: Services, user: Caller) -> m.CronJobModel:
    """Create or replace a cron job's template."""
    user.require_role(body.job.key.role)
    return job_model(services, services.cron.schedule(config_of(body.job)))


@router.get("", response_model=m.CronJobList)
def list_cron(services: Services, user: Caller) -> m.CronJobList:
    return m.CronJobList(jobs=[job_model(services, t) for t in services.cron.templates()])


@router.get(JOB, response_model=m.CronJobModel)
def show(key: JobPath, services: Services, user: Caller) -> m.CronJobModel:
    return job_model(services, services.cron.get(key))


@router.delete(JOB, response_model=m.CronJobModel)
def deschedule(key: OwnedJob, services: Services) -> m.CronJobModel:
    model = job_model(services, services.cron.get(key))
    services.cron.deschedule(key)
    return model


@router.post(JOB + "/start", response_model=m.CronRunModel, status_code=202)
def start(key: OwnedJob, services: Services) -> m.CronRunModel:
    return run_model(services.cluster, services.cron.start(key))


@router.get(JOB + "/runs", response_model=m.CronRunList)
def runs(key: JobPath, services: Services, user: Caller,
         limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> m.CronRunList:
    return m.CronRunList(key=f"{services.cluster}/{key}",
                         runs=[run_model(services.cluster, r) for r in
                               services.cron.runs(key, limit)])
