"""The wire form of a job: what the scheduler stores and the executor receives.

As in Aurora, the scheduler-facing summary (key, resources, constraints, ports...) travels
with the whole job as JSON in ``task.executor_config.data``: the executor rebuilds the job
from it and binds the runtime variables at launch. ``job_from_wire`` reads it back, so the
form round-trips losslessly.

A job naming a custom executor (``ExecutorConfig(name=..., data=...)``, as Aurora's client
sent it) carries that executor's own data instead: opaque to us, so the scheduler reads
only the summary fields, and ``job_from_custom_wire`` rebuilds from them what can be
checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pystachio import Empty, Ref

from .binding import PORTS_SCOPE, required_ports
from .errors import WireFormatError
from .keys import JobKey
from .schema import (
    AppcImage,
    BatchUpdateStrategy,
    Container,
    CoordinatorSlaPolicy,
    CountSlaPolicy,
    Docker,
    DockerImage,
    Job,
    Mesos,
    PercentageSlaPolicy,
    QueueUpdateStrategy,
    VariableBatchUpdateStrategy,
)

MB = 1024 * 1024
OUR_EXECUTOR = "AuroraExecutor"  # ExecutorConfig's default name


def _json(value: Any) -> Any:
    """A pystachio value as plain JSON types (``get()`` gives frozendicts and tuples)."""
    return json.loads(value.json_dumps())


def _opt(value: Any) -> Any:
    return None if value is Empty else value.get()


def constraint_to_wire(name: str, spec: str) -> dict[str, Any]:
    """Aurora's constraint strings: ``limit:N``, or a value set, ``!`` negating it."""
    if spec.startswith("limit:"):
        return {"name": name, "limit": int(spec[len("limit:") :])}
    negated = spec.startswith("!")
    values = [v.strip() for v in spec.lstrip("!").split(",") if v.strip()]
    return {"name": name, "values": values, "negated": negated}


def container_to_wire(container: Any) -> dict[str, Any] | None:
    if container is Empty:
        return None
    value = container.interpolate()[0] if hasattr(container, "interpolate") else container
    if isinstance(value, Container):
        value = value.docker()
    if isinstance(value, Docker):
        return {"docker": _json(value)}
    if isinstance(value, Mesos):
        mesos = _json(value)
        if "image" in mesos:
            kind = "appc" if "image_id" in mesos["image"] else "docker"
            mesos["image"] = {kind: mesos["image"]}
        return {"mesos": mesos}
    return None


def job_key(job: Any) -> JobKey:
    return JobKey(str(job.cluster()), str(job.role()), str(job.environment()), str(job.name()))


def job_to_wire(job: Any) -> dict[str, Any]:
    """A JSON-safe job configuration; unbound runtime variables stay as templates."""
    interpolated, _ = job.interpolate()
    task = interpolated.task()
    resources = task.resources()
    constraints = _opt(interpolated.constraints()) or {}
    key = job_key(interpolated)
    return {
        "key": {
            "cluster": key.cluster,
            "role": key.role,
            "environment": key.environment,
            "name": key.name,
        },
        "instances": interpolated.instances().get(),
        "cron_schedule": _opt(interpolated.cron_schedule()),
        "cron_collision_policy": interpolated.cron_collision_policy().get(),
        "task": {
            "is_service": interpolated.service().get(),
            "max_task_failures": interpolated.max_task_failures().get(),
            "priority": interpolated.priority().get(),
            "production": interpolated.production().get(),
            "tier": _opt(interpolated.tier()),
            "contact": _opt(interpolated.contact()),
            "resources": {
                "cpu": float(resources.cpu().get()),
                "ram_mb": resources.ram().get() // MB,
                "disk_mb": resources.disk().get() // MB,
                "gpu": resources.gpu().get(),
            },
            "requested_ports": required_ports(job),
            "constraints": [constraint_to_wire(n, str(s)) for n, s in sorted(constraints.items())],
            "metadata": [_json(m) for m in interpolated.metadata()],
            "container": container_to_wire(interpolated.container()),
            "executor_config": _executor_config(interpolated),
            # Only when set: a job without a policy keeps the form (and identity) it had.
            **({"sla_policy": _json(interpolated.sla_policy().unwrap())}
               if interpolated.has_sla_policy() else {}),
        },
        "update_config": _json(interpolated.update_config()),
        "health_check_config": _json(interpolated.health_check_config()),
    }


def _executor_config(job: Any) -> dict[str, str]:
    executor = job.executor_config()
    name = str(executor.name().get())
    if name != OUR_EXECUTOR:
        return {"name": name, "data": str(executor.data().get())}
    # Canonical (sorted) so that equal jobs have equal wire forms.
    return {"name": name, "data": json.dumps(_json(job), sort_keys=True)}


def is_custom_executor(wire: Mapping[str, Any]) -> bool:
    """Whether a wire form names an executor other than ours (its data is not the job)."""
    executor = (wire.get("task") or {}).get("executor_config") or {}
    return isinstance(executor, Mapping) and executor.get("name", OUR_EXECUTOR) != OUR_EXECUTOR


def _constraint_spec(constraint: Mapping[str, Any]) -> str:
    """The inverse of ``constraint_to_wire``."""
    if "limit" in constraint:
        return f"limit:{constraint['limit']}"
    values = ",".join(str(v) for v in constraint.get("values") or ())
    return f"!{values}" if constraint.get("negated") else values


def _wire_container(container: Mapping[str, Any]) -> Any:
    """The inverse of ``container_to_wire``."""
    if "mesos" in container:
        mesos = dict(container["mesos"])
        image = mesos.get("image")
        if isinstance(image, Mapping) and len(image) == 1:
            mesos["image"] = next(iter(image.values()))
        return _container(mesos)
    return _container(dict(container))


# The process a rebuilt custom-executor job is checked with: it names the requested ports,
# so the port rules (health checks, lifecycle) see what the scheduler will assign.
_PORTS_PROCESS = "custom_executor_ports"


def _port_names(ports: Any) -> list[str]:
    """The requested ports, each one a task could name as ``{{thermos.ports[NAME]}}``."""
    names = []
    for index, name in enumerate(ports):
        try:
            named = Ref.subscope(PORTS_SCOPE, Ref.from_address(f"thermos.ports[{name}]"))
        except Ref.InvalidRefError:
            named = None
        if not isinstance(name, str) or named is None or str(named.action().value) != name:
            raise WireFormatError(f"task.requested_ports[{index}]: {name!r} is not a port "
                                  "name a task can refer to as {{thermos.ports[NAME]}}")
        names.append(name)
    return names


def job_from_custom_wire(wire: Mapping[str, Any]) -> Any:
    """A Job holding what a custom executor's wire form says (its key, instances, task
    summary, update and health settings), so the rules of a job apply to those fields and
    ``job_to_wire`` of it gives the form back. Its one process only names the ports."""
    try:
        key, task = wire["key"], wire["task"]
        resources = task["resources"]
        ports = " ".join(f"{{{{thermos.ports[{p}]}}}}"
                         for p in _port_names(task.get("requested_ports") or ()))
        job: dict[str, Any] = {
            "cluster": key["cluster"], "role": key["role"],
            "environment": key["environment"], "name": key["name"],
            "instances": wire["instances"],
            "cron_collision_policy": wire.get("cron_collision_policy") or "KILL_EXISTING",
            "service": task.get("is_service", False),
            "max_task_failures": task.get("max_task_failures", 1),
            "priority": task.get("priority", 0),
            "production": task.get("production", False),
            "constraints": {c["name"]: _constraint_spec(c) for c in task.get("constraints") or ()},
            "metadata": list(task.get("metadata") or ()),
            "executor_config": dict(task["executor_config"]),
            "task": {"name": key["name"],
                     "processes": [{"name": _PORTS_PROCESS, "cmdline": f"true {ports}".strip()}],
                     "resources": {"cpu": resources["cpu"], "ram": resources["ram_mb"] * MB,
                                   "disk": resources["disk_mb"] * MB,
                                   "gpu": resources.get("gpu", 0)}},
        }
        for field in ("cron_schedule", "update_config", "health_check_config"):
            if wire.get(field) is not None:
                job[field] = wire[field]
        for field in ("tier", "contact", "sla_policy"):
            if task.get(field) is not None:
                job[field] = task[field]
        if task.get("container"):
            job["container"] = _wire_container(task["container"])
        return job_from_dict(job)
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise WireFormatError(f"not a job configuration ({type(e).__name__}: {e})") from e


def _typed(data: Mapping[str, Any], field: str, pick: Any) -> None:
    value = data.get(field)
    if isinstance(value, dict):
        data[field] = pick(value)  # type: ignore[index]


def _container(value: dict[str, Any]) -> Any:
    if "docker" in value:
        return Container(value)
    if isinstance(value.get("image"), str):
        return Docker(value)
    mesos = dict(value)
    _typed(mesos, "image", lambda i: AppcImage(i) if "image_id" in i else DockerImage(i))
    return Mesos(mesos)


def _sla_policy(value: dict[str, Any]) -> Any:
    if "coordinator_url" in value:
        return CoordinatorSlaPolicy(value)
    return CountSlaPolicy(value) if "count" in value else PercentageSlaPolicy(value)


def _update_strategy(value: dict[str, Any]) -> Any:
    if "batch_sizes" in value:
        return VariableBatchUpdateStrategy(value)
    if "autopause_after_batch" in value:
        return BatchUpdateStrategy(value)
    return QueueUpdateStrategy(value)


def job_from_dict(data: Mapping[str, Any]) -> Any:
    """A Job from its JSON form.

    Pystachio's ``Choice`` cannot pick a struct alternative from a plain dict (an unknown key
    raises instead of trying the next one), so the choice fields are typed here first.
    """
    job = dict(data)
    _typed(job, "container", _container)
    _typed(job, "sla_policy", _sla_policy)
    if isinstance(job.get("update_config"), dict):
        update = dict(job["update_config"])
        _typed(update, "update_strategy", _update_strategy)
        job["update_config"] = update
    return Job(job)


def job_from_executor_data(data: str) -> Any:
    """The job carried as the executor's data (JSON of the whole job)."""
    try:
        return job_from_dict(json.loads(data))
    except (ValueError, AttributeError, TypeError) as e:
        raise WireFormatError(f"executor data is not a job: {e}") from e


def job_from_wire(wire: Mapping[str, Any]) -> Any:
    """Read back the job of a wire-form configuration."""
    try:
        data = wire["task"]["executor_config"]["data"]
    except (KeyError, TypeError) as e:
        raise WireFormatError(f"job configuration has no task.executor_config.data ({e})") from e
    if not isinstance(data, str):
        raise WireFormatError("task.executor_config.data must be the job's JSON as a string")
    return job_from_executor_data(data)
