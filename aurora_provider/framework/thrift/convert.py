"""The one place Thrift structs become the REST API's wire models and back.

A ``TaskConfig`` of our executor carries the whole job as Thermos JSON in
``executorConfig.data``, as Aurora's client sent it (the ``.aurora`` file's job, interpolated).
That JSON is read back into a job, the Thrift fields the scheduler acted on in Aurora (key,
instance count, resources, constraints, service, priority...) are laid over it, and the job's
wire form is made by the same ``job_to_wire`` as for a ``.aurora`` file: the job a Thrift
client submits runs exactly as the same file submitted over REST. A custom executor's data is
opaque; its wire form is built from the Thrift fields alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.api.errors import InvalidRequest
from aurora_provider.config.errors import ConfigError
from aurora_provider.config.wire import MB, OUR_EXECUTOR, job_from_dict, job_to_wire
from aurora_provider.framework.http.deps import ApiServices, key_part
from aurora_provider.framework.model.job_config import (
    JobConfig,
    LimitConstraint,
    Resources,
    ValueConstraint,
)
from aurora_provider.framework.storage.rows import EventRow, TaskRow
from aurora_provider.framework.thrift.idl import api
from aurora_provider.states.task import TERMINAL, TaskState

# -- keys ------------------------------------------------------------------------------------


def job_path(key: Any, where: str = "job") -> str:
    """``role/environment/name`` of a Thrift ``JobKey``, each part checked as REST's are."""
    if key is None:
        raise InvalidRequest(f"{where}: missing JobKey")
    parts = []
    for part in ("role", "environment", "name"):
        value = getattr(key, part)
        if not isinstance(value, str):
            raise InvalidRequest(f"{where}.{part}: missing")
        parts.append(key_part(f"{where}.{part}", value))
    return "/".join(parts)


def thrift_job_key(path: str) -> Any:
    role, environment, name = path.split("/")
    return api().JobKey(role=role, environment=environment, name=name)


# -- resources -------------------------------------------------------------------------------


def thrift_resources(r: Resources, ports: Iterable[str] = ()) -> set[Any]:
    t = api()
    found = {t.Resource(numCpus=float(r.cpu)), t.Resource(ramMb=int(r.ram_mb)),
             t.Resource(diskMb=int(r.disk_mb))}
    if r.gpu:
        found.add(t.Resource(numGpus=int(r.gpu)))
    return found | {t.Resource(namedPort=p) for p in ports}


def resource_aggregate(r: Resources) -> Any:
    return api().ResourceAggregate(resources=thrift_resources(r))


def resources_of(resources: Iterable[Any] | None, where: str) -> tuple[Resources, list[str]]:
    """The amounts and the named ports of a set of Thrift ``Resource`` unions."""
    amounts: dict[str, float] = {}
    ports: list[str] = []
    for resource in resources or ():
        if resource.namedPort is not None:
            ports.append(resource.namedPort)
            continue
        for field in ("numCpus", "ramMb", "diskMb", "numGpus"):
            value = getattr(resource, field)
            if value is not None:
                amounts[field] = amounts.get(field, 0) + value
    missing = [f for f in ("numCpus", "ramMb", "diskMb") if f not in amounts]
    if missing:
        raise InvalidRequest(f"{where}.resources: missing {', '.join(missing)}")
    return Resources(amounts["numCpus"], amounts["ramMb"], amounts["diskMb"],
                     int(amounts.get("numGpus", 0))), sorted(ports)


# -- TaskConfig -> our wire form -------------------------------------------------------------


def _constraints_of(constraints: Iterable[Any] | None, where: str) -> dict[str, str]:
    """Thrift constraints as the ``.aurora`` file's ``constraints = {name: spec}``."""
    specs: dict[str, str] = {}
    for c in constraints or ():
        inner = c.constraint
        if not c.name or inner is None:
            raise InvalidRequest(f"{where}.constraints: a constraint needs a name and a value "
                                 "or limit")
        if inner.limit is not None:
            specs[c.name] = f"limit:{inner.limit.limit}"
        elif inner.value is not None:
            values = ",".join(sorted(inner.value.values or ()))
            specs[c.name] = ("!" if inner.value.negated else "") + values
        else:
            raise InvalidRequest(f"{where}.constraints[{c.name}]: neither value nor limit")
    return specs


def _metadata_of(metadata: Iterable[Any] | None) -> list[dict[str, str]]:
    return sorted(({"key": md.key, "value": md.value} for md in metadata or ()),
                  key=lambda d: (d["key"], d["value"]))


def _overlay(job: dict[str, Any], task: Any, path: str, instances: int,
             cron: tuple[str | None, str | None], where: str) -> None:
    """Lay the Thrift fields over the job the executor data holds (in place)."""
    role, environment, name = path.split("/")
    job.update(role=role, environment=environment, name=name, instances=instances)
    for field, value in (("service", task.isService), ("max_task_failures", task.maxTaskFailures),
                         ("priority", task.priority), ("production", task.production),
                         ("tier", task.tier), ("contact", task.contactEmail)):
        if value is not None:
            job[field] = value
    schedule, policy = cron
    if schedule is not None:
        job["cron_schedule"] = schedule
    if policy is not None:
        job["cron_collision_policy"] = policy
    if task.resources:
        amounts, _ = resources_of(task.resources, where)
        inner = job.setdefault("task", {})
        current = inner.get("resources") or {}
        changed = {"cpu": amounts.cpu, "gpu": amounts.gpu}
        # Bytes in the job, MB on the wire: a job's own byte count stays when it is that MB.
        for field, mb in (("ram", amounts.ram_mb), ("disk", amounts.disk_mb)):
            if int(current.get(field) or 0) // MB != int(mb):
                changed[field] = int(mb * MB)
        inner["resources"] = {**current, **changed}
    if task.constraints is not None:
        job["constraints"] = _constraints_of(task.constraints, where)
    if task.metadata is not None:
        job["metadata"] = _metadata_of(task.metadata)


def _policy_name(policy: int | None) -> str | None:
    if policy is None:
        return None
    name = api().CronCollisionPolicy._VALUES_TO_NAMES.get(policy)
    if name is None:
        raise InvalidRequest(f"cronCollisionPolicy {policy} is no CronCollisionPolicy")
    return str(name)


def job_of_task(task: Any, instances: int | None, *, update_config: Mapping[str, Any] | None = None,
                key: Any = None, cron_schedule: str | None = None,
                cron_collision_policy: int | None = None, cluster: str | None = None,
                where: str = "taskConfig") -> m.JobConfiguration:
    """A Thrift ``TaskConfig`` (and what surrounds it) as our wire model.

    :param key: the job's ``JobKey`` when it is not the task's (``JobConfiguration.key``).
    :param cluster: the cluster a job whose Thermos JSON names none belongs to.
    :param update_config: replaces the job's ``update_config`` (the Thermos JSON's and the
        wire form's alike, which the loader's rules require to agree).
    """
    if task is None:
        raise InvalidRequest(f"{where}: missing TaskConfig")
    if instances is None or instances < 1:
        raise InvalidRequest(f"instanceCount {instances}: a job has at least one instance")
    path = job_path(key if key is not None else task.job, f"{where}.job" if key is None
                    else "key")
    executor = task.executorConfig
    if executor is None or executor.data is None:
        raise InvalidRequest(f"{where}.executorConfig: missing (the Thermos JSON of the job, "
                             "as Aurora's client sends it)")
    cron = (cron_schedule, _policy_name(cron_collision_policy))
    if (executor.name or OUR_EXECUTOR) != OUR_EXECUTOR:
        wire = _custom_wire(task, path, instances, cron, cluster, where)
    else:
        wire = _thermos_wire(task, path, instances, cron, cluster, where)
    if update_config is not None:
        wire["update_config"] = dict(update_config)
        data = json.loads(wire["task"]["executor_config"]["data"])
        if isinstance(data, dict):
            data["update_config"] = dict(update_config)
            wire["task"]["executor_config"]["data"] = json.dumps(data, sort_keys=True)
    try:
        return m.JobConfiguration.model_validate(wire)
    except ValueError as err:
        raise InvalidRequest(f"{where}: {str(err).splitlines()[0]}: "
                             f"{' '.join(str(err).splitlines()[1:3])}") from err


def _thermos_wire(task: Any, path: str, instances: int, cron: tuple[str | None, str | None],
                  cluster: str | None, where: str) -> dict[str, Any]:
    try:
        job = json.loads(task.executorConfig.data)
    except ValueError as err:
        raise InvalidRequest(f"{where}.executorConfig.data is not JSON ({err})") from err
    if not isinstance(job, dict):
        raise InvalidRequest(f"{where}.executorConfig.data is not the JSON of a job")
    if not job.get("cluster"):
        if cluster is None:
            raise InvalidRequest(f"{where}.executorConfig.data names no cluster")
        job["cluster"] = cluster
    _overlay(job, task, path, instances, cron, where)
    try:
        return job_to_wire(job_from_dict(job))
    except (ConfigError, ValueError, TypeError, AttributeError) as err:
        raise InvalidRequest(f"{where}.executorConfig.data is not a job: "
                             f"{type(err).__name__}: {err}") from err


def _custom_wire(task: Any, path: str, instances: int, cron: tuple[str | None, str | None],
                 cluster: str | None, where: str) -> dict[str, Any]:
    if cluster is None:
        raise InvalidRequest(f"{where}: a custom executor's job needs the scheduler's cluster")
    role, environment, name = path.split("/")
    amounts, ports = resources_of(task.resources, where)
    constraints = []
    for c_name, spec in sorted(_constraints_of(task.constraints, where).items()):
        if spec.startswith("limit:"):
            constraints.append({"name": c_name, "limit": int(spec[len("limit:"):])})
        else:
            constraints.append({"name": c_name, "negated": spec.startswith("!"),
                                "values": [v for v in spec.lstrip("!").split(",") if v]})
    schedule, policy = cron
    return {
        "key": {"cluster": cluster, "role": role, "environment": environment, "name": name},
        "instances": instances,
        "cron_schedule": schedule,
        "cron_collision_policy": policy or "KILL_EXISTING",
        "task": {
            "is_service": bool(task.isService), "max_task_failures": task.maxTaskFailures or 1,
            "priority": task.priority or 0, "production": bool(task.production),
            "tier": task.tier, "contact": task.contactEmail,
            "resources": {"cpu": amounts.cpu, "ram_mb": int(amounts.ram_mb),
                          "disk_mb": int(amounts.disk_mb), "gpu": amounts.gpu},
            "requested_ports": ports, "constraints": constraints,
            "metadata": _metadata_of(task.metadata),
            "container": _container_of(task.container),
            "executor_config": {"name": task.executorConfig.name,
                                "data": task.executorConfig.data},
        },
    }


def _container_of(container: Any) -> dict[str, Any] | None:
    if container is None:
        return None
    if container.docker is not None:
        docker = container.docker
        return {"docker": {"image": docker.image, "parameters": [
            {"name": p.name, "value": p.value} for p in docker.parameters or ()]}}
    mesos = container.mesos
    if mesos is None or (mesos.image is None and not mesos.volumes):
        return None
    out: dict[str, Any] = {}
    if mesos.image is not None and mesos.image.docker is not None:
        out["image"] = {"docker": {"name": mesos.image.docker.name,
                                   "tag": mesos.image.docker.tag}}
    elif mesos.image is not None and mesos.image.appc is not None:
        out["image"] = {"appc": {"name": mesos.image.appc.name,
                                 "image_id": mesos.image.appc.imageId}}
    if mesos.volumes:
        modes = api().Mode._VALUES_TO_NAMES
        out["volumes"] = [{"container_path": v.containerPath, "host_path": v.hostPath,
                           "mode": modes.get(v.mode, "RO")} for v in mesos.volumes]
    return {"mesos": out}


def job_from_thrift(job: Any, *, cluster: str | None = None,
                    where: str = "description") -> m.JobConfiguration:
    """A Thrift ``JobConfiguration`` (createJob's, scheduleCronJob's) as our wire model."""
    if job is None:
        raise InvalidRequest(f"{where}: missing JobConfiguration")
    return job_of_task(job.taskConfig, job.instanceCount, key=job.key,
                       cron_schedule=job.cronSchedule,
                       cron_collision_policy=job.cronCollisionPolicy, cluster=cluster,
                       where=f"{where}.taskConfig")


# -- our configuration -> Thrift -------------------------------------------------------------


def _thrift_container(wire: Mapping[str, Any] | None) -> Any:
    t = api()
    if not wire:
        return t.Container(mesos=t.MesosContainer())
    if "docker" in wire:
        docker = wire["docker"]
        return t.Container(docker=t.DockerContainer(image=docker.get("image"), parameters=[
            t.DockerParameter(name=p.get("name"), value=p.get("value"))
            for p in docker.get("parameters") or ()]))
    mesos = wire.get("mesos") or {}
    image = None
    if isinstance(mesos.get("image"), Mapping):
        inner = mesos["image"]
        if "docker" in inner:
            image = t.Image(docker=t.DockerImage(name=inner["docker"].get("name"),
                                                 tag=inner["docker"].get("tag")))
        elif "appc" in inner:
            image = t.Image(appc=t.AppcImage(name=inner["appc"].get("name"),
                                             imageId=inner["appc"].get("image_id")))
    volumes = [t.Volume(containerPath=v.get("container_path"), hostPath=v.get("host_path"),
                        mode=getattr(t.Mode, str(v.get("mode", "RO")), t.Mode.RO))
               for v in mesos.get("volumes") or ()] or None
    return t.Container(mesos=t.MesosContainer(image=image, volumes=volumes))


def _thrift_constraint(c: ValueConstraint | LimitConstraint) -> Any:
    t = api()
    if isinstance(c, LimitConstraint):
        inner = t.TaskConstraint(limit=t.LimitConstraint(limit=c.limit))
    else:
        inner = t.TaskConstraint(value=t.ValueConstraint(negated=c.negated,
                                                         values=set(c.values)))
    return t.Constraint(name=c.name, constraint=inner)


def task_config(config: JobConfig) -> Any:
    """A stored configuration as the Thrift ``TaskConfig`` Aurora's clients read."""
    t = api()
    task = config.task
    wire_task: Mapping[str, Any] = config.wire.get("task") or {}
    return t.TaskConfig(
        job=thrift_job_key(config.job_key),
        owner=t.Identity(user=config.key.role),
        isService=task.is_service,
        priority=task.priority,
        maxTaskFailures=task.max_task_failures,
        production=task.production,
        tier=task.tier,
        resources=thrift_resources(task.resources, task.requested_ports),
        constraints={_thrift_constraint(c) for c in task.constraints},
        metadata={t.Metadata(key=k, value=v) for k, v in task.metadata},
        contactEmail=wire_task.get("contact"),
        executorConfig=t.ExecutorConfig(name=task.executor_name, data=task.executor_data),
        container=_thrift_container(wire_task.get("container")),
        taskLinks={},
    )


def job_configuration(config: JobConfig, *, cron_schedule: str | None = None,
                      cron_policy: str | None = None) -> Any:
    t = api()
    policy = cron_policy or config.cron_collision_policy
    return t.JobConfiguration(
        key=thrift_job_key(config.job_key),
        owner=t.Identity(user=config.key.role),
        cronSchedule=cron_schedule or config.cron_schedule,
        cronCollisionPolicy=getattr(t.CronCollisionPolicy, policy, None),
        taskConfig=task_config(config),
        instanceCount=config.instances)


# -- tasks -----------------------------------------------------------------------------------


def schedule_status(state: TaskState) -> int:
    status: int = getattr(api().ScheduleStatus, state.value)
    return status


def task_state(status: int, where: str) -> TaskState:
    name = api().ScheduleStatus._VALUES_TO_NAMES.get(status)
    if name is None:
        raise InvalidRequest(f"{where}: {status} is no ScheduleStatus")
    return TaskState(name)


def _events(events: Sequence[EventRow]) -> list[Any]:
    t = api()
    return [t.TaskEvent(timestamp=int(e.timestamp * 1000), status=schedule_status(e.status),
                        message=e.message, scheduler="aurora-scheduler") for e in events]


def scheduled_task(row: TaskRow, events: Sequence[EventRow], config: Any) -> Any:
    """A task row as Aurora's ``ScheduledTask``; ``config`` is its Thrift TaskConfig."""
    t = api()
    assigned = t.AssignedTask(
        taskId=row.task_id, slaveId=row.agent_id, slaveHost=row.host, task=config,
        assignedPorts=dict(row.ports), instanceId=row.instance)
    return t.ScheduledTask(
        assignedTask=assigned, status=schedule_status(row.status),
        failureCount=row.failure_count, timesPartitioned=0, taskEvents=_events(events),
        ancestorId=row.ancestor_id)


class TaskConfigs:
    """Thrift TaskConfigs by configuration id, each built once per call.

    :param with_executor_data: False leaves ``executorConfig.data`` out (Aurora's
        getTasksWithoutConfigs: the rest of the configuration stays).
    """

    def __init__(self, services: ApiServices, *, with_executor_data: bool = True) -> None:
        self._services = services
        self._data = with_executor_data
        self._built: dict[int, Any] = {}

    def __call__(self, config_id: int) -> Any:
        if config_id not in self._built:
            config = task_config(self._services.jobs.config(config_id))
            if not self._data:
                config.executorConfig = api().ExecutorConfig(name=config.executorConfig.name)
            self._built[config_id] = config
        return self._built[config_id]


def scheduled_tasks(services: ApiServices, rows: Sequence[TaskRow], *,
                    with_executor_data: bool = True) -> list[Any]:
    events = services.jobs.task_events([r.task_id for r in rows]) if rows else {}
    configs = TaskConfigs(services, with_executor_data=with_executor_data)
    return [scheduled_task(r, events.get(r.task_id, ()), configs(r.config_id)) for r in rows]


def scheduled_task_of_row(services: ApiServices, row: TaskRow) -> Any:
    return scheduled_tasks(services, [row])[0]


def current_task_configs(services: ApiServices, path: str) -> dict[int, Any]:
    """The Thrift TaskConfig each active instance of a job runs."""
    configs = TaskConfigs(services)
    return {r.instance: configs(r.config_id)
            for r in services.jobs.task_rows(job_key=path) if r.status not in TERMINAL}
