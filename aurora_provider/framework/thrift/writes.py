"""AuroraSchedulerManager's job writes besides createJob: cron, kill, restart, add instances.

Each calls the service its REST route calls (``http/routes/jobs.py``, ``cron.py``), with the
same permission check: the job's role, or an admin.
"""

from __future__ import annotations

from typing import Any

from aurora_provider.api.errors import CronJobNotFound, InvalidRequest, JobNotFound
from aurora_provider.framework.http.routes.jobs import config_of
from aurora_provider.framework.thrift import convert
from aurora_provider.framework.thrift.registry import CallContext, Reply, thrift_call


def owned_job(ctx: CallContext, key: Any, where: str = "job") -> str:
    """``role/environment/name`` of a Thrift ``JobKey`` the caller may change."""
    path = convert.job_path(key, where)
    ctx.caller.require_role(path.split("/", 1)[0])
    return path


def _cron_config(ctx: CallContext, job: Any, where: str) -> Any:
    if job is None:
        raise InvalidRequest(f"{where}: missing JobConfiguration")
    model = convert.job_from_thrift(job)
    ctx.caller.require_role(model.key.role)
    return config_of(model)


@thrift_call("scheduleCronJob")
def schedule_cron_job(ctx: CallContext, args: Any) -> None:
    """Create or replace a cron job's template (``POST /api/v1/cron``)."""
    ctx.services.cron.schedule(_cron_config(ctx, args.description, "description"))


@thrift_call("replaceCronTemplate")
def replace_cron_template(ctx: CallContext, args: Any) -> None:
    """As scheduleCronJob, for a job that is a cron job already (Aurora's distinction)."""
    config = _cron_config(ctx, args.config, "config")
    ctx.services.cron.get(config.job_key)  # CronJobNotFound when it is not one
    ctx.services.cron.schedule(config)


@thrift_call("descheduleCronJob")
def deschedule_cron_job(ctx: CallContext, args: Any) -> Reply | None:
    path = owned_job(ctx, args.job)
    try:
        ctx.services.cron.deschedule(path)
    except CronJobNotFound as e:  # Aurora answers OK, saying so
        return Reply(messages=(str(e),))
    return None


@thrift_call("startCronJob")
def start_cron_job(ctx: CallContext, args: Any) -> None:
    ctx.services.cron.start(owned_job(ctx, args.job))


@thrift_call("killTasks")
def kill_tasks(ctx: CallContext, args: Any) -> Reply | None:
    """Aurora's ``killTasks(job, instances, message)``: no instances kills them all."""
    path = owned_job(ctx, args.job)
    instances = sorted(args.instances) if args.instances else None
    try:
        killed = ctx.services.jobs.kill(path, instances, ctx.caller.user, args.message)
    except JobNotFound:
        return Reply(messages=("No tasks to kill.",))  # Aurora's words, what its client shows
    return None if killed.killed else Reply(messages=("No tasks to kill.",))


@thrift_call("restartShards")
def restart_shards(ctx: CallContext, args: Any) -> None:
    """Restart the named instances at once (Aurora's client batches them itself)."""
    path = owned_job(ctx, args.job)
    shards = sorted(args.shardIds or ())
    if not shards:
        raise InvalidRequest("shardIds: name at least one instance to restart")
    ctx.services.jobs.restart(path, shards, batch_size=len(shards))


@thrift_call("addInstances")
def add_instances(ctx: CallContext, args: Any) -> None:
    """``count`` new instances, copies of instance ``key.instanceId``."""
    if args.key is None:
        raise InvalidRequest("key: missing InstanceKey")
    path = owned_job(ctx, args.key.jobKey, "key.jobKey")
    if args.count is None or args.count < 1:
        raise InvalidRequest(f"count: {args.count} must be at least 1")
    if args.key.instanceId is None or args.key.instanceId < 0:
        raise InvalidRequest(f"key.instanceId: {args.key.instanceId} must be an instance")
    ctx.services.jobs.add_instances(path, args.key.instanceId, args.count)
