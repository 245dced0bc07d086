"""createJob: Aurora's job submission, through the same service and checks as REST's
``POST /api/v1/jobs``."""

from __future__ import annotations

from typing import Any

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.http.routes.jobs import config_of
from aurora_provider.framework.thrift import convert
from aurora_provider.framework.thrift.registry import CallContext, Reply, thrift_call


@thrift_call("createJob")
def create_job(ctx: CallContext, args: Any) -> Any:
    description = args.description
    if description is not None and description.cronSchedule:
        # As Aurora: a cron job is a template, scheduled by its own call.
        raise InvalidRequest("createJob: a job with a cronSchedule is created by "
                             "scheduleCronJob")
    model = convert.job_from_thrift(description, cluster=ctx.services.cluster)
    ctx.caller.require_role(model.key.role)
    created = ctx.services.jobs.create(config_of(model))
    return Reply(messages=(f"created {created.key}: {len(created.task_ids)} task(s)",))
