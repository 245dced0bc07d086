"""Jobs: create, list, status, kill, restart, add instances, diff."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Response

from aurora_provider.api import models as m
from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.http.deps import Caller, JobPath, OwnedJob, Services
from aurora_provider.framework.model.job_config import JobConfig

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
JOB = "/{role}/{environment}/{name}"


def config_of(job: m.JobConfiguration) -> JobConfig:
    """A request's job, typed: the one place the API's model becomes the scheduler's."""
    return JobConfig.from_wire(job.model_dump(mode="json"))


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


@router.post(JOB + "/kill", response_model=m.KillResponse)
def kill(key: OwnedJob, body: m.KillRequest, services: Services,
         user: Caller) -> m.KillResponse:
    return services.jobs.kill(key, body.instances, user.user, body.message)


@router.post(JOB + "/restart", response_model=m.RestartModel, status_code=202)
def restart(key: OwnedJob, body: m.RestartRequest, services: Services) -> m.RestartModel:
    return services.jobs.restart(key, body.instances, body.batch_size)


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
