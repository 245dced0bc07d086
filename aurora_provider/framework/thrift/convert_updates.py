"""Aurora's update, maintenance and admin structs <-> our records and settings.

The other half of ``convert.py`` (jobs, tasks, resources): what only the update, cron and
admin calls need. Aurora's times are milliseconds, ours seconds; Aurora's instance sets are
``Range`` lists, ours plain lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.model.updates import (
    BATCH,
    VARIABLE_BATCH,
    InstanceEvent,
    UpdateEvent,
    UpdateRecord,
    UpdateSettings,
)
from aurora_provider.framework.operations.maintenance import HostStatus
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.thrift.idl import api
from aurora_provider.states.task import TaskState
from aurora_provider.states.update import TERMINAL, UpdateStatus

# -- instances as ranges --------------------------------------------------------------------


def instances_of(ranges: Iterable[Any] | None, where: str) -> list[int]:
    """The instances of Aurora's ``set<Range>`` (both ends included), sorted."""
    found: set[int] = set()
    for r in ranges or ():
        if r.first is None or r.last is None or r.first < 0 or r.last < r.first:
            raise InvalidRequest(f"{where}: range {r.first}-{r.last} must have "
                                 "0 <= first <= last")
        found.update(range(r.first, r.last + 1))
    return sorted(found)


def ranges_of(instances: Iterable[int]) -> list[Any]:
    """Instances as the fewest ``Range`` structs (``0,1,2,5`` -> 0-2, 5-5)."""
    found: list[Any] = []
    for i in sorted(set(instances)):
        if found and found[-1].last == i - 1:
            found[-1].last = i
        else:
            found.append(api().Range(first=i, last=i))
    return found


def millis(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


# -- JobUpdateSettings -> a job's update_config ----------------------------------------------


def _seconds(ms: int, field: str) -> int:
    """Aurora's client sends ``*_secs * 1000``; our ``update_config`` holds whole seconds."""
    if ms < 0:
        raise InvalidRequest(f"settings.{field}: {ms} must not be negative")
    if ms % 1000:
        raise InvalidRequest(f"settings.{field}: {ms} ms is not a whole number of seconds, "
                             "which is what this scheduler keeps; round it to a multiple of "
                             "1000")
    return ms // 1000


def update_config_of(settings: Any) -> dict[str, Any]:
    """Aurora's ``JobUpdateSettings`` as the ``update_config`` of a ``.aurora`` job that
    says the same (what ``aurora update start`` sent for that file's ``UpdateConfig``).

    An update strategy wins over ``updateGroupSize`` and ``waitForBatchCompletion``, as in
    Aurora 0.22 (they are its pre-strategy form, still sent beside it)."""
    if settings is None:
        raise InvalidRequest("request.settings: missing; send the job's JobUpdateSettings")
    config: dict[str, Any] = {
        "max_per_shard_failures": _non_negative(settings.maxPerInstanceFailures,
                                                "maxPerInstanceFailures"),
        "max_total_failures": _non_negative(settings.maxFailedInstances, "maxFailedInstances"),
        "watch_secs": _seconds(settings.minWaitInInstanceRunningMs or 0,
                               "minWaitInInstanceRunningMs"),
        "rollback_on_failure": bool(settings.rollbackOnFailure),
    }
    if settings.blockIfNoPulsesAfterMs is not None:
        config["pulse_interval_secs"] = _seconds(settings.blockIfNoPulsesAfterMs,
                                                 "blockIfNoPulsesAfterMs")
    if settings.slaAware:
        config["sla_aware"] = True
    config.update(_strategy(settings))
    return config


def _non_negative(value: int | None, field: str) -> int:
    if value is not None and value < 0:
        raise InvalidRequest(f"settings.{field}: {value} must not be negative")
    return value or 0


def _strategy(settings: Any) -> dict[str, Any]:
    chosen = settings.updateStrategy
    if chosen is None or not any((chosen.queueStrategy, chosen.batchStrategy,
                                  chosen.varBatchStrategy)):
        size = settings.updateGroupSize
        if size is None or size < 1:
            raise InvalidRequest(f"settings.updateGroupSize: {size} must be at least 1 "
                                 "(or send an updateStrategy)")
        return {"batch_size": size,
                "wait_for_batch_completion": bool(settings.waitForBatchCompletion)}
    if chosen.queueStrategy is not None:
        return {"batch_size": _group(chosen.queueStrategy.groupSize, "queueStrategy")}
    if chosen.batchStrategy is not None:
        size = _group(chosen.batchStrategy.groupSize, "batchStrategy")
        if chosen.batchStrategy.autopauseAfterBatch:
            return {"update_strategy": {"batch_size": size, "autopause_after_batch": True}}
        return {"batch_size": size, "wait_for_batch_completion": True}
    sizes = list(chosen.varBatchStrategy.groupSizes or [])
    if not sizes or any(s is None or s < 1 for s in sizes):
        raise InvalidRequest(f"settings.updateStrategy.varBatchStrategy.groupSizes: {sizes} "
                             "must be a non-empty list of sizes >= 1")
    return {"update_strategy": {"batch_sizes": sizes, "autopause_after_batch": bool(
        chosen.varBatchStrategy.autopauseAfterBatch)}}


def _group(size: int | None, name: str) -> int:
    if size is None or size < 1:
        raise InvalidRequest(f"settings.updateStrategy.{name}.groupSize: {size} must be at "
                             "least 1")
    return size


# -- our update records -> Aurora's -------------------------------------------------------


def job_key_of(job_key: str) -> Any:
    role, environment, name = job_key.split("/")
    return api().JobKey(role=role, environment=environment, name=name)


def update_key(r: UpdateRecord) -> Any:
    return api().JobUpdateKey(job=job_key_of(r.job_key), id=r.update_id)


def status_of(status: UpdateStatus) -> int:
    value: int = getattr(api().JobUpdateStatus, status.value)
    return value


def update_status(value: int) -> UpdateStatus:
    name = api().JobUpdateStatus._VALUES_TO_NAMES.get(value)
    if name is None:
        raise InvalidRequest(f"query.updateStatuses: {value} is no JobUpdateStatus")
    return UpdateStatus(name)


def summary(r: UpdateRecord) -> Any:
    return api().JobUpdateSummary(
        key=update_key(r), user=r.user,
        state=api().JobUpdateState(status=status_of(r.status),
                                 createdTimestampMs=millis(r.created_at),
                                 lastModifiedTimestampMs=millis(r.updated_at)))


def settings_of(s: UpdateSettings, only: Sequence[int] | None) -> Any:
    if s.strategy == VARIABLE_BATCH:
        strategy = api().JobUpdateStrategy(varBatchStrategy=api().VariableBatchJobUpdateStrategy(
            groupSizes=list(s.batch_sizes), autopauseAfterBatch=s.autopause_after_batch))
    elif s.strategy == BATCH:
        strategy = api().JobUpdateStrategy(batchStrategy=api().BatchJobUpdateStrategy(
            groupSize=s.batch_size, autopauseAfterBatch=s.autopause_after_batch))
    else:
        strategy = api().JobUpdateStrategy(queueStrategy=api().QueueJobUpdateStrategy(
            groupSize=s.batch_size))
    return api().JobUpdateSettings(
        updateGroupSize=s.batch_size, maxPerInstanceFailures=s.max_per_shard_failures,
        maxFailedInstances=s.max_total_failures,
        minWaitInInstanceRunningMs=millis(s.watch_secs),
        rollbackOnFailure=s.rollback_on_failure,
        updateOnlyTheseInstances=ranges_of(only or ()),
        waitForBatchCompletion=s.wait_for_batch_completion,
        blockIfNoPulsesAfterMs=millis(s.pulse_interval_secs), slaAware=s.sla_aware,
        updateStrategy=strategy)


def update_event(e: UpdateEvent) -> Any:
    return api().JobUpdateEvent(status=status_of(e.status), timestampMs=millis(e.timestamp),
                              user=e.user, message=e.message)


def instance_event(e: InstanceEvent) -> Any:
    return api().JobInstanceUpdateEvent(instanceId=e.instance, timestampMs=millis(e.timestamp),
                                      action=getattr(api().JobUpdateAction, e.action.value))


def details(r: UpdateRecord, task_config: Callable[[int], Any],
            events: Sequence[UpdateEvent], instance_events: Sequence[InstanceEvent]) -> Any:
    """Aurora's ``JobUpdateDetails``; ``task_config`` gives the TaskConfig of one of the
    job's configuration ids."""
    by_config: dict[int, list[int]] = {}
    for instance, config_id in r.initial.items():
        by_config.setdefault(config_id, []).append(instance)
    initial = [api().InstanceTaskConfig(task=task_config(c), instances=ranges_of(i))
               for c, i in sorted(by_config.items())]
    wanted = sorted({*r.scope.get("add", []), *r.scope.get("replace", [])})
    desired = api().InstanceTaskConfig(task=task_config(r.desired_config_id),
                                     instances=ranges_of(wanted)) if wanted else None
    instructions = api().JobUpdateInstructions(
        initialState=initial, desiredState=desired,
        settings=settings_of(r.settings, r.only_instances))
    return api().JobUpdateDetails(
        update=api().JobUpdate(summary=summary(r), instructions=instructions),
        updateEvents=[update_event(e) for e in events],
        instanceEvents=[instance_event(e) for e in instance_events])


def pulse_status(r: UpdateRecord) -> int:
    status: int = api().JobUpdatePulseStatus.FINISHED if r.status in TERMINAL else \
        api().JobUpdatePulseStatus.OK
    return status


# -- JobUpdateQuery -------------------------------------------------------------------------


def update_query(query: Any) -> tuple[frozenset[UpdateStatus] | None,
                                       Callable[[UpdateRecord], bool]]:
    """The statuses and the matcher of Aurora's ``JobUpdateQuery`` (every field set must
    match; an empty query matches every update)."""
    q = query or api().JobUpdateQuery()
    statuses = frozenset(update_status(s) for s in q.updateStatuses) \
        if q.updateStatuses else None
    job = _path(q.jobKey) if q.jobKey is not None else None
    key = (_path(q.key.job), q.key.id) if q.key is not None and q.key.job is not None else None

    def matches(r: UpdateRecord) -> bool:
        return ((not q.role or r.job_key.split("/")[0] == q.role)
                and (job is None or r.job_key == job)
                and (key is None or (r.job_key, r.update_id) == key)
                and (not q.user or r.user == q.user))

    return statuses, matches


def page(found: Sequence[Any], query: Any) -> list[Any]:
    """``offset`` and ``limit`` of a query (0 or unset: no limit, as in Aurora)."""
    offset = max(query.offset or 0, 0) if query is not None else 0
    limit = query.limit if query is not None and query.limit else None
    rest = list(found[offset:])
    return rest if limit is None or limit < 0 else rest[:limit]


def _path(key: Any) -> str:
    return f"{key.role}/{key.environment}/{key.name}"


# -- maintenance ------------------------------------------------------------------------


def host_statuses(found: Sequence[HostStatus]) -> list[Any]:
    return [api().HostStatus(host=h.host, mode=getattr(api().MaintenanceMode, h.mode.value))
            for h in found]


def host_names(hosts: Any) -> list[str]:
    names = sorted(hosts.hostNames or ()) if hosts is not None else []
    return [str(h) for h in names]


# -- TaskQuery over stored tasks (staged recovery) ----------------------------------------


def task_states(values: Iterable[int] | None) -> frozenset[TaskState] | None:
    if not values:
        return None
    names = api().ScheduleStatus._VALUES_TO_NAMES
    try:
        return frozenset(TaskState(names[v]) for v in values)
    except (KeyError, ValueError) as e:
        raise InvalidRequest(f"query.statuses: {e} is no task state of this scheduler") from e


def task_row_matcher(query: Any) -> Callable[[TaskRow], bool]:
    """Aurora's ``TaskQuery`` as a test of one stored task (every field set must match)."""
    q = query or api().TaskQuery()
    states = task_states(q.statuses)
    keys = {_path(k) for k in q.jobKeys} if q.jobKeys else None
    ids = set(q.taskIds) if q.taskIds else None
    instances = set(q.instanceIds) if q.instanceIds else None
    hosts = set(q.slaveHosts) if q.slaveHosts else None

    def matches(row: TaskRow) -> bool:
        role, environment, name = row.job_key.split("/")
        return ((not q.role or role == q.role)
                and (not q.environment or environment == q.environment)
                and (not q.jobName or name == q.jobName)
                and (keys is None or row.job_key in keys)
                and (ids is None or row.task_id in ids)
                and (states is None or row.status in states)
                and (instances is None or row.instance in instances)
                and (hosts is None or row.host in hosts))

    return matches


def resource_amounts(aggregate: Any, where: str) -> Mapping[str, float]:
    """``cpu``, ``ram_mb``, ``disk_mb`` of a ``ResourceAggregate``; GPUs and ports refused
    (our quotas count neither)."""
    amounts = {"cpu": 0.0, "ram_mb": 0.0, "disk_mb": 0.0}
    for r in (aggregate.resources if aggregate is not None else None) or ():
        if r.numCpus is not None:
            amounts["cpu"] += r.numCpus
        elif r.ramMb is not None:
            amounts["ram_mb"] += r.ramMb
        elif r.diskMb is not None:
            amounts["disk_mb"] += r.diskMb
        elif r.numGpus:
            raise InvalidRequest(f"{where}: numGpus {r.numGpus}: this scheduler's quotas "
                                 "count CPU, RAM and disk only")
        elif r.namedPort is not None:
            raise InvalidRequest(f"{where}: namedPort {r.namedPort!r} is no quota resource")
    return amounts
