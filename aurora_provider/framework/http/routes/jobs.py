"""Jobs: create, list, status, kill, restart, add instances, diff, configuration history."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from aurora_provider.api import models as m
from aurora_provider.api.errors import InvalidRequest, JobNotFound
from aurora_provider.framework.http.deps import Caller, JobPath, OwnedJob, Services
from aurora_provider.framework.jobs.pages import CURSOR_PATTERN
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.jobs import StoredConfig

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
JOB = "/{role}/{environment}/{name}"


def config_of(job: m.JobConfiguration) -> JobConfig:
    """A request's job, typed: the one place the API's model becomes the scheduler's, once
    it passes the ``.aurora`` loader's rules (create, diff, update and cron come here)."""
    return JobConfig.from_wire(job.submitted())


def job_configuration(config: JobConfig) -> m.JobConfiguration:
    """A stored job, in the API's wire form: the one place the scheduler's becomes the API's
    (the store keeps the wire form the user sent, so it round-trips)."""
    return m.JobConfiguration.model_validate(config.wire)


@router.get("", response_model=m.JobList)
def list_jobs(services: Services, user: Caller,
              pattern: Annotated[str | None, Query()] = None) -> m.JobList:
    return services.jobs.list(pattern)


@router.post("", response_model=m.CreateJobResponse, status_code=201)
def create_job(body: m.CreateJobRequest, services: Services,
               user: Caller) -> m.CreateJobResponse:
    user.require_role(body.job.key.role)
    return services.jobs.create(config_of(body.job))


@router.get(JOB, response_model=m.JobStatus)
def job_status(key: JobPath, services: Services, user: Caller) -> Response:
    # Serialised directly: validating a 10,000-task answer again would double its cost.
    document = services.jobs.status_document(key)
    return Response(json.dumps(document, separators=(",", ":")), media_type="application/json")


@router.get(JOB + "/summary", response_model=m.JobStatusSummary)
def job_summary(key: JobPath, services: Services, user: Caller) -> m.JobStatusSummary:
    return services.jobs.summary(key)


@router.get(JOB + "/tasks", response_model=m.TaskPage)
def job_tasks(key: JobPath, services: Services, user: Caller,
              limit: Annotated[int, Query(ge=1, le=m.MAX_TASK_PAGE)] = 100,
              cursor: Annotated[str | None, Query(
                  max_length=500, json_schema_extra={"pattern": CURSOR_PATTERN},
                  description="the next_cursor of the previous page")] = None,
              events: bool = False) -> Response:
    document = services.jobs.task_page(key, limit, cursor, events)
    return Response(json.dumps(document, separators=(",", ":")), media_type="application/json")


@router.post(JOB + "/kill", response_model=m.KillResponse)
def kill(key: OwnedJob, body: m.KillRequest, services: Services,
         user: Caller) -> m.KillResponse:
    return services.jobs.kill(key, body.instances, user.user, body.message)


@router.post(JOB + "/restart", response_model=m.RestartModel, status_code=202)
def restart(key: OwnedJob, body: m.RestartRequest, services: Services) -> m.RestartModel:
    return services.jobs.restart(
        key, body.instances, body.batch_size, watch_secs=body.watch_secs,
        max_per_instance_failures=body.max_per_instance_failures,
        max_total_failures=body.max_total_failures)


@router.get(JOB + "/restart", response_model=m.RestartModel)
def restart_status(key: JobPath, services: Services, user: Caller) -> m.RestartModel:
    return services.jobs.restart_status(key)


@router.post(JOB + "/instances", response_model=m.AddInstancesResponse, status_code=201)
def add_instances(key: OwnedJob, body: m.AddInstancesRequest,
                  services: Services) -> m.AddInstancesResponse:
    return services.jobs.add_instances(key, body.template_instance, body.count)


@router.post(JOB + "/diff", response_model=m.JobDiff)
def diff(key: JobPath, body: m.DiffRequest, services: Services, user: Caller) -> m.JobDiff:
    if body.job.key.path() != key:
        raise InvalidRequest(f"the configuration is for job {body.job.key}, the URL names {key}")
    return services.jobs.diff(config_of(body.job))


@router.get(JOB + "/configs", response_model=m.JobConfigHistory)
def job_configs(key: JobPath, services: Services, user: Caller,
                limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> m.JobConfigHistory:
    # A killed job keeps its history (what ran, for a post-mortem); a job never created has
    # none.
    stored = services.config_history(key, limit)
    full = f"{services.cluster}/{key}"
    if not stored:
        raise JobNotFound(f"job {full} not found (no configuration was ever stored)")
    return m.JobConfigHistory(key=full, configs=[_version(s) for s in stored])


def _version(stored: StoredConfig) -> m.JobConfigVersion:
    try:
        job: m.JobConfiguration | None = job_configuration(stored.config)
        problem = None
    except ValidationError as e:  # stored before a rule it breaks: listed, not a 500
        job, problem = None, f"stored configuration no longer valid: {_first_error(e)}"
    return m.JobConfigVersion(config_id=stored.config_id, created_at=stored.created_at,
                              job=job, problem=problem)


def _first_error(e: ValidationError) -> str:
    first = e.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
