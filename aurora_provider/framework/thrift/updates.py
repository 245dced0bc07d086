"""Job updates over Thrift: start, the user's actions, pulses and the reads.

The same controller as ``http/routes/updates.py``: starting and steering need the job's role
or an admin, reads any valid caller. Aurora's ``JobUpdateSettings`` become the job's
``update_config`` (``convert_updates.update_config_of``), so an update started here runs as
``aurora update start`` of the same ``.aurora`` file would.
"""

from __future__ import annotations

from typing import Any

from aurora_provider.api import models as m
from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.http.deps import ApiServices
from aurora_provider.framework.http.routes.jobs import config_of
from aurora_provider.framework.model.updates import UpdateRecord
from aurora_provider.framework.thrift import convert
from aurora_provider.framework.thrift import convert_updates as cu
from aurora_provider.framework.thrift.idl import api
from aurora_provider.framework.thrift.registry import CallContext, thrift_call
from aurora_provider.framework.thrift.writes import owned_job
from aurora_provider.framework.updates.controller import UpdateAction


def requested_job(request: Any) -> tuple[m.JobConfiguration, list[int] | None]:
    """The job a ``JobUpdateRequest`` describes, and the instances it is limited to."""
    if request is None:
        raise InvalidRequest("request: missing JobUpdateRequest")
    if request.metadata:
        raise InvalidRequest("request.metadata: this scheduler does not keep update metadata; "
                             "send none")
    if request.taskConfig is None:
        raise InvalidRequest("request.taskConfig: missing TaskConfig")
    if request.instanceCount is None or request.instanceCount < 1:
        raise InvalidRequest(f"request.instanceCount: {request.instanceCount} must be at "
                             "least 1")
    update_config = cu.update_config_of(request.settings)
    only = cu.instances_of(request.settings.updateOnlyTheseInstances,
                           "request.settings.updateOnlyTheseInstances")
    job = convert.job_of_task(request.taskConfig, request.instanceCount,
                              update_config=update_config)
    return job, only or None


@thrift_call("startJobUpdate")
def start_job_update(ctx: CallContext, args: Any) -> Any:
    job, only = requested_job(args.request)
    ctx.caller.require_role(job.key.role)
    record = ctx.services.updates.start(config_of(job), ctx.caller.user, args.message, only)
    return api().Result(startJobUpdateResult=api().StartJobUpdateResult(
        key=cu.update_key(record), updateSummary=cu.summary(record)))


def _act(ctx: CallContext, action: UpdateAction, key: Any, message: str | None) -> UpdateRecord:
    if key is None:
        raise InvalidRequest("key: missing JobUpdateKey")
    path = owned_job(ctx, key.job, "key.job")
    return ctx.services.updates.act(action, path, ctx.caller.user, message, key.id or None)


def _action(name: str, action: UpdateAction) -> None:
    def handle(ctx: CallContext, args: Any) -> None:
        _act(ctx, action, args.key, args.message)

    handle.__name__ = handle.__qualname__ = f"{action.value}_job_update"
    thrift_call(name)(handle)


for _name, _verb in (("pauseJobUpdate", UpdateAction.PAUSE),
                     ("resumeJobUpdate", UpdateAction.RESUME),
                     ("abortJobUpdate", UpdateAction.ABORT),
                     ("rollbackJobUpdate", UpdateAction.ROLLBACK)):
    _action(_name, _verb)


@thrift_call("pulseJobUpdate")
def pulse_job_update(ctx: CallContext, args: Any) -> Any:
    """OK while the update goes on, FINISHED once it ended (Aurora's JobUpdatePulseStatus)."""
    record = _act(ctx, UpdateAction.PULSE, args.key, None)
    return api().Result(pulseJobUpdateResult=api().PulseJobUpdateResult(
        status=cu.pulse_status(record)))


# -- reads ----------------------------------------------------------------------------------


def _matching(services: ApiServices, query: Any) -> list[UpdateRecord]:
    statuses, matches = cu.update_query(query)
    return list(cu.page(services.updates.query(statuses=statuses, matches=matches), query))


@thrift_call("getJobUpdateSummaries")
def get_job_update_summaries(ctx: CallContext, args: Any) -> Any:
    found = _matching(ctx.services, args.jobUpdateQuery)
    return api().Result(getJobUpdateSummariesResult=api().GetJobUpdateSummariesResult(
        updateSummaries=[cu.summary(r) for r in found]))


def details(services: ApiServices, r: UpdateRecord) -> Any:
    return cu.details(r, convert.TaskConfigs(services), services.updates.events(r.update_id),
                      services.updates.instance_events(r.update_id))


@thrift_call("getJobUpdateDetails")
def get_job_update_details(ctx: CallContext, args: Any) -> Any:
    """One update by ``key``, else every update ``query`` matches (Aurora 0.22 answers
    both ``details``, the first, and ``detailsList``)."""
    services = ctx.services
    if args.key is not None:
        path = convert.job_path(args.key.job, "key.job")
        found = [services.updates.get(path, args.key.id or None)]
    else:
        found = _matching(services, args.query)
    listed = [details(services, r) for r in found]
    return api().Result(getJobUpdateDetailsResult=api().GetJobUpdateDetailsResult(
        details=listed[0] if listed else None, detailsList=listed))


@thrift_call("getJobUpdateDiff")
def get_job_update_diff(ctx: CallContext, args: Any) -> Any:
    """What the request would add, remove, update and leave, as Aurora's ConfigGroups."""
    job, only = requested_job(args.request)
    diff = ctx.services.jobs.diff(config_of(job))
    scope = set(only) if only is not None else None

    def kept(instances: list[int]) -> list[int]:
        return [i for i in instances if scope is None or i in scope]

    new = args.request.taskConfig
    current = convert.current_task_configs(ctx.services, job.key.path())

    def groups(instances: list[int], config_of_instance: Any) -> list[Any]:
        by_config: dict[int, tuple[Any, list[int]]] = {}
        for i in instances:
            task = config_of_instance(i)
            by_config.setdefault(id(task), (task, []))[1].append(i)
        return [api().ConfigGroup(config=t, instances=cu.ranges_of(i))
                for t, i in by_config.values()]

    untouched = [i for i in (*diff.update, *diff.unchanged, *diff.remove)
                 if scope is not None and i not in scope]
    return api().Result(getJobUpdateDiffResult=api().GetJobUpdateDiffResult(
        add=groups(kept(diff.add), lambda _: new),
        remove=groups(kept(diff.remove), current.__getitem__),
        update=groups(kept(diff.update), lambda _: new),
        unchanged=groups(sorted({*kept(diff.unchanged), *untouched}), current.__getitem__)))
