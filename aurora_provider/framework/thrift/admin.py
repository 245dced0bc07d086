"""AuroraAdmin's calls: quotas, host maintenance, backups and staged recovery, pruning,
reconciliation. Admin only, as their REST routes (``http/routes/{quotas,maintenance,admin}``);
maintenanceStatus, a read, needs any valid caller there and here.
"""

from __future__ import annotations

from typing import Any

from aurora_provider.api.errors import Conflict, InvalidRequest
from aurora_provider.framework.http.deps import ApiServices, key_part
from aurora_provider.framework.model.job_config import Resources
from aurora_provider.framework.operations.recovery import StagedRecovery
from aurora_provider.framework.thrift import convert
from aurora_provider.framework.thrift import convert_updates as cu
from aurora_provider.framework.thrift.idl import api
from aurora_provider.framework.thrift.registry import CallContext, Reply, thrift_call
from aurora_provider.states.task import TERMINAL


@thrift_call("setQuota")
def set_quota(ctx: CallContext, args: Any) -> None:
    ctx.caller.require_admin("set quotas")
    role = key_part("ownerRole", args.ownerRole or "")
    amounts = cu.resource_amounts(args.quota, "quota")
    ctx.services.quotas.set(role, Resources(amounts["cpu"], int(amounts["ram_mb"]),
                                            int(amounts["disk_mb"])))


# -- host maintenance ---------------------------------------------------------------------


def _statuses(found: Any) -> Any:
    return cu.host_statuses(found)


@thrift_call("startMaintenance")
def start_maintenance(ctx: CallContext, args: Any) -> Any:
    ctx.caller.require_admin("start host maintenance")
    found = ctx.services.maintenance.start(cu.host_names(args.hosts))
    return api().Result(startMaintenanceResult=api().StartMaintenanceResult(
        statuses=_statuses(found)))


@thrift_call("drainHosts")
def drain_hosts(ctx: CallContext, args: Any) -> Any:
    ctx.caller.require_admin("drain hosts")
    found = ctx.services.maintenance.drain(cu.host_names(args.hosts))
    return api().Result(drainHostsResult=api().DrainHostsResult(statuses=_statuses(found)))


@thrift_call("slaDrainHosts")
def sla_drain_hosts(ctx: CallContext, args: Any) -> Any:
    """Drain under each job's SLA policy; ``defaultSlaPolicy`` (a percentage policy) for
    jobs without one, regardless of SLAs after ``timeoutSecs``."""
    ctx.caller.require_admin("drain hosts")
    policy = args.defaultSlaPolicy
    if policy is None or policy.percentageSlaPolicy is None:
        given = "none" if policy is None else ("countSlaPolicy" if policy.countSlaPolicy
                                               else "coordinatorSlaPolicy")
        raise InvalidRequest(f"defaultSlaPolicy: {given}; this scheduler's SLA drain takes a "
                             "percentageSlaPolicy as the default")
    p = policy.percentageSlaPolicy
    found = ctx.services.maintenance.sla_drain(
        cu.host_names(args.hosts), p.percentage if p.percentage is not None else 0.0,
        float(p.durationSecs or 0), float(args.timeoutSecs or 0))
    return api().Result(drainHostsResult=api().DrainHostsResult(statuses=_statuses(found)))


@thrift_call("maintenanceStatus")
def maintenance_status(ctx: CallContext, args: Any) -> Any:
    """The named hosts, or every host in maintenance."""
    found = ctx.services.maintenance.status(cu.host_names(args.hosts) or None)
    return api().Result(maintenanceStatusResult=api().MaintenanceStatusResult(
        statuses=_statuses(found)))


@thrift_call("endMaintenance")
def end_maintenance(ctx: CallContext, args: Any) -> Any:
    ctx.caller.require_admin("end host maintenance")
    found = ctx.services.maintenance.end(cu.host_names(args.hosts))
    return api().Result(endMaintenanceResult=api().EndMaintenanceResult(
        statuses=_statuses(found)))


# -- storage: snapshot, backups, staged recovery --------------------------------------------


@thrift_call("snapshot")
def snapshot(ctx: CallContext, args: Any) -> Reply:
    ctx.caller.require_admin("snapshot the store")
    # Aurora compacted its replicated log into a snapshot; our store is a database written
    # before every change is acted on, so it always is one: nothing to do, said so.
    return Reply(messages=("the store is a database that holds every change as it is made: "
                           "it needs no snapshot",))


@thrift_call("performBackup")
def perform_backup(ctx: CallContext, args: Any) -> Reply:
    ctx.caller.require_admin("back up the scheduler")
    made = ctx.services.backups.backup_now()
    return Reply(messages=(f"backup {made.backup_id}",))


@thrift_call("listBackups")
def list_backups(ctx: CallContext, args: Any) -> Any:
    ctx.caller.require_admin("list backups")
    ids = [b.backup_id for b in ctx.services.backups.available()]
    return api().Result(listBackupsResult=api().ListBackupsResult(backups=ids))


def _recovery(services: ApiServices) -> StagedRecovery:
    if services.recovery is None:
        raise Conflict("staged recovery needs the scheduler daemon (aurora-scheduler)")
    return services.recovery


@thrift_call("stageRecovery")
def stage_recovery(ctx: CallContext, args: Any) -> None:
    ctx.caller.require_admin("stage a recovery")
    _recovery(ctx.services).stage(ctx.services.backups, args.backupId or "")


@thrift_call("queryRecovery")
def query_recovery(ctx: CallContext, args: Any) -> Any:
    ctx.caller.require_admin("look at a staged recovery")
    matches = cu.task_row_matcher(args.query)
    rows = [r for r in _recovery(ctx.services).active_tasks() if matches(r)]
    return api().Result(queryRecoveryResult=api().QueryRecoveryResult(
        tasks=[convert.scheduled_task_of_row(ctx.services, r) for r in rows]))


@thrift_call("deleteRecoveryTasks")
def delete_recovery_tasks(ctx: CallContext, args: Any) -> Reply | None:
    ctx.caller.require_admin("change a staged recovery")
    recovery = _recovery(ctx.services)
    matches = cu.task_row_matcher(args.query)
    doomed = [r.task_id for r in recovery.active_tasks() if matches(r)]
    if not doomed:
        return Reply(messages=("no task of the staged backup matches the query",))
    recovery.delete_tasks(doomed)
    return Reply(messages=(f"deleted {len(doomed)} task(s) from the staged backup",))


@thrift_call("commitRecovery")
def commit_recovery(ctx: CallContext, args: Any) -> Reply:
    ctx.caller.require_admin("commit a recovery")
    done = _recovery(ctx.services).commit(ctx.services.backups)
    return Reply(messages=(f"backup {done.backup_id} is live; the store before it is backup "
                           f"{done.safety_backup.backup_id}",))


@thrift_call("unloadRecovery")
def unload_recovery(ctx: CallContext, args: Any) -> None:
    ctx.caller.require_admin("unload a staged recovery")
    _recovery(ctx.services).unload()


# -- tasks ----------------------------------------------------------------------------------


_PRUNE_FILTERS = ("taskIds", "instanceIds", "slaveHosts", "offset")


@thrift_call("pruneTasks")
def prune_tasks(ctx: CallContext, args: Any) -> Reply:
    """Delete terminal tasks matching the query's role, environment, jobName (or one
    jobKey), statuses and limit (the filters of ``POST /api/v1/admin/prune``)."""
    ctx.caller.require_admin("prune tasks")
    q = args.query or api().TaskQuery()
    for name in _PRUNE_FILTERS:
        if getattr(q, name):
            raise InvalidRequest(f"query.{name}: pruning filters by role, environment, "
                                 "jobName, jobKeys (one), statuses and limit only")
    role, environment, name = q.role, q.environment, q.jobName
    if q.jobKeys:
        if len(q.jobKeys) > 1 or role or environment or name:
            raise InvalidRequest("query.jobKeys: name one job key, and no role, environment "
                                 "or jobName beside it")
        (key,) = q.jobKeys
        role, environment, name = key.role, key.environment, key.name
    states = cu.task_states(q.statuses)
    if states is not None and states - TERMINAL:
        raise InvalidRequest("query.statuses: tasks in non-terminal states cannot be pruned")
    pruned = ctx.services.housekeeping.prune_tasks(
        states=sorted(s.value for s in states) if states else None, role=role or None,
        environment=environment or None, name=name or None,
        limit=q.limit if q.limit else None)
    return Reply(messages=(f"pruned {len(pruned)} task(s)",))


def _reconcile(ctx: CallContext) -> Reply:
    result = ctx.services.housekeeping.reconcile()
    return Reply(messages=(f"reconciled {result.checked} task(s); {len(result.changed)} "
                           "changed",))


@thrift_call("triggerExplicitTaskReconciliation")
def trigger_explicit_reconciliation(ctx: CallContext, args: Any) -> Reply:
    """Our reconciliation asks the backend about every launched task at once; a batch size
    is checked as Aurora checked it, and the tasks are not split into batches."""
    ctx.caller.require_admin("reconcile tasks")
    settings = args.settings
    if settings is None:
        raise InvalidRequest("settings: missing ExplicitReconciliationSettings")
    if settings.batchSize is not None and settings.batchSize <= 0:
        raise InvalidRequest(f"settings.batchSize: {settings.batchSize} must be greater than "
                             "zero")
    return _reconcile(ctx)


@thrift_call("triggerImplicitTaskReconciliation")
def trigger_implicit_reconciliation(ctx: CallContext, args: Any) -> Reply:
    """The same reconciliation: the backend also reports the tasks it runs that the
    scheduler does not know (Mesos's implicit reconciliation), which are then killed."""
    ctx.caller.require_admin("reconcile tasks")
    return _reconcile(ctx)


@thrift_call("forceTaskState")
def force_task_state(ctx: CallContext, args: Any) -> None:
    ctx.caller.require_admin("force task states")
    raise InvalidRequest("forceTaskState is not served: a task's state changes only through "
                         "the scheduler's transitions; kill or restart the task instead")
