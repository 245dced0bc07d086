"""ReadOnlyScheduler's calls (but the job updates'): the same reads as the REST routes,
shaped as Aurora answered them. Reads need a valid token, as REST's do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.http.deps import ApiServices, key_part
from aurora_provider.framework.http.routes.quotas import report
from aurora_provider.framework.model.cron import CronTemplate
from aurora_provider.framework.model.job_config import JobConfig, Resources
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.thrift import convert
from aurora_provider.framework.thrift.idl import api
from aurora_provider.framework.thrift.registry import CallContext, thrift_call
from aurora_provider.framework.thrift.task_query import matching_tasks
from aurora_provider.states.task import TERMINAL, TaskState

S = TaskState
# Aurora's JobStats: which count each state adds to.
_PENDING = frozenset({S.INIT, S.PENDING, S.THROTTLED})
_FINISHED = frozenset({S.KILLED, S.FINISHED})
_FAILED = frozenset({S.LOST, S.FAILED})


def _role(value: str | None, where: str) -> str | None:
    return None if not value else key_part(where, value)


def _role_of(path: str) -> str:
    return path.split("/", 1)[0]


def _active(rows: Iterable[TaskRow]) -> list[TaskRow]:
    return [r for r in rows if r.status not in TERMINAL]


def _jobs(services: ApiServices, role: str | None) -> dict[str, tuple[Any, CronTemplate | None]]:
    """Aurora's jobs of a role (all with None): each job with active tasks, its configuration
    the job's current one for as many instances as are active; then each cron job, whose
    template wins. By path: (Thrift JobConfiguration, the cron template or None)."""
    found: dict[str, tuple[Any, CronTemplate | None]] = {}
    for job in services.jobs.jobs():
        if role is not None and _role_of(job.job_key) != role:
            continue
        active = _active(services.jobs.task_rows(job_key=job.job_key))
        if not active:
            continue
        config: JobConfig = services.jobs.config(job.config_id)
        instances = len({r.instance for r in active})
        found[job.job_key] = (convert.job_configuration(config.with_instances(instances)),
                              None)
    for template in services.cron.templates():
        if role is None or _role_of(template.job_key) == role:
            found[template.job_key] = (
                convert.job_configuration(template.config, cron_schedule=template.schedule,
                                          cron_policy=template.policy), template)
    return found


@thrift_call("getRoleSummary")
def get_role_summary(ctx: CallContext, args: Any) -> Any:
    t = api()
    jobs: dict[str, int] = {}
    crons: dict[str, int] = {}
    for job in ctx.services.jobs.jobs():
        if _active(ctx.services.jobs.task_rows(job_key=job.job_key)):
            jobs[_role_of(job.job_key)] = jobs.get(_role_of(job.job_key), 0) + 1
    for template in ctx.services.cron.templates():
        crons[_role_of(template.job_key)] = crons.get(_role_of(template.job_key), 0) + 1
    return t.Result(roleSummaryResult=t.RoleSummaryResult(summaries={
        t.RoleSummary(role=role, jobCount=jobs.get(role, 0), cronJobCount=crons.get(role, 0))
        for role in set(jobs) | set(crons)}))


def _stats(rows: Iterable[TaskRow]) -> Any:
    counts = {"pending": 0, "active": 0, "finished": 0, "failed": 0}
    for row in rows:
        kind = ("pending" if row.status in _PENDING else "finished" if row.status in _FINISHED
                else "failed" if row.status in _FAILED else "active")
        counts[kind] += 1
    return api().JobStats(activeTaskCount=counts["active"], finishedTaskCount=counts["finished"],
                          failedTaskCount=counts["failed"], pendingTaskCount=counts["pending"])


@thrift_call("getJobSummary")
def get_job_summary(ctx: CallContext, args: Any) -> Any:
    t = api()
    summaries = set()
    for path, (job, template) in _jobs(ctx.services, _role(args.role, "role")).items():
        next_run = template.next_run_at if template is not None else None
        summaries.add(t.JobSummary(
            job=job, stats=_stats(ctx.services.jobs.task_rows(job_key=path)),
            nextCronRunMs=None if next_run is None else int(next_run * 1000)))
    return t.Result(jobSummaryResult=t.JobSummaryResult(summaries=summaries))


@thrift_call("getJobs")
def get_jobs(ctx: CallContext, args: Any) -> Any:
    t = api()
    jobs = _jobs(ctx.services, _role(args.ownerRole, "ownerRole"))
    return t.Result(getJobsResult=t.GetJobsResult(configs={job for job, _ in jobs.values()}))


def _status_result(tasks: list[Any]) -> Any:
    t = api()
    return t.Result(scheduleStatusResult=t.ScheduleStatusResult(tasks=tasks))


@thrift_call("getTasksStatus")
def get_tasks_status(ctx: CallContext, args: Any) -> Any:
    rows = matching_tasks(ctx.services, args.query)
    return _status_result(convert.scheduled_tasks(ctx.services, rows))


@thrift_call("getTasksWithoutConfigs")
def get_tasks_without_configs(ctx: CallContext, args: Any) -> Any:
    # As Aurora: the configuration is there, without the executor's data (the bulk of it).
    rows = matching_tasks(ctx.services, args.query)
    return _status_result(convert.scheduled_tasks(ctx.services, rows,
                                                  with_executor_data=False))


@thrift_call("getPendingReason")
def get_pending_reason(ctx: CallContext, args: Any) -> Any:
    query = args.query
    if query is None:
        raise InvalidRequest("getPendingReason: missing TaskQuery")
    if query.slaveHosts:
        raise InvalidRequest("getPendingReason: query.slaveHosts is not supported")
    if query.statuses:
        raise InvalidRequest("getPendingReason: query.statuses is not supported")
    query = api().TaskQuery(**{**vars(query), "statuses": {api().ScheduleStatus.PENDING}})
    reasons = ctx.services.jobs.pending_reasons()
    t = api()
    return t.Result(getPendingReasonResult=t.GetPendingReasonResult(reasons={
        t.PendingReason(taskId=r.task_id, reason=reasons.get(r.task_id, ""))
        for r in matching_tasks(ctx.services, query)}))


def ranges(instances: Iterable[int]) -> set[Any]:
    """Instance ids as Aurora's closed ``Range``s."""
    out: set[Any] = set()
    ordered = sorted(set(instances))
    start = prev = None
    for i in ordered:
        if start is None:
            start = prev = i
        elif prev is not None and i == prev + 1:
            prev = i
        else:
            out.add(api().Range(first=start, last=prev))
            start = prev = i
    if start is not None:
        out.add(api().Range(first=start, last=prev))
    return out


@thrift_call("getConfigSummary")
def get_config_summary(ctx: CallContext, args: Any) -> Any:
    t = api()
    path = convert.job_path(args.job, "job")
    by_instance = convert.current_task_configs(ctx.services, path)
    groups: dict[Any, list[int]] = {}
    for instance, config in by_instance.items():
        groups.setdefault(config, []).append(instance)
    return t.Result(configSummaryResult=t.ConfigSummaryResult(summary=t.ConfigSummary(
        key=convert.thrift_job_key(path),
        groups={t.ConfigGroup(config=c, instances=ranges(i)) for c, i in groups.items()})))


def _aggregate(amounts: Any) -> Any:
    return convert.resource_aggregate(Resources(amounts.cpu, amounts.ram_mb, amounts.disk_mb))


@thrift_call("getQuota")
def get_quota(ctx: CallContext, args: Any) -> Any:
    t = api()
    if not args.ownerRole:
        raise InvalidRequest("getQuota: ownerRole is missing")
    quota = report(ctx.services, key_part("ownerRole", args.ownerRole))
    nothing = convert.resource_aggregate(Resources(0, 0, 0))
    # Our quota is not split by dedicated hosts: all consumption is "shared".
    return t.Result(getQuotaResult=t.GetQuotaResult(
        quota=_aggregate(quota.quota),
        prodSharedConsumption=_aggregate(quota.production),
        nonProdSharedConsumption=_aggregate(quota.non_production),
        prodDedicatedConsumption=nothing, nonProdDedicatedConsumption=nothing))


@thrift_call("getTierConfigs")
def get_tier_configs(ctx: CallContext, args: Any) -> Any:
    t = api()
    table = ctx.services.quotas.tiers
    return t.Result(getTierConfigResult=t.GetTierConfigResult(
        defaultTierName=table.default.name,
        tiers={t.TierConfig(name=tier.name, settings={
            "preemptible": str(tier.preemptible).lower(),
            "revocable": str(tier.revocable).lower()}) for tier in table.tiers.values()}))
