"""The wire form of a job: what the scheduler stores and the executor receives.

As in Aurora, the scheduler-facing summary (key, resources, constraints, ports...) travels
with the whole job as JSON in ``task.executor_config.data``: the executor rebuilds the job
from it and binds the runtime variables at launch. ``job_from_wire`` reads it back, so the
form round-trips losslessly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pystachio import Empty

from .binding import required_ports
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
            "executor_config": {
                "name": interpolated.executor_config().name().get(),
                # Canonical (sorted) so that equal jobs have equal wire forms.
                "data": json.dumps(_json(interpolated), sort_keys=True),
            },
            # Only when set: a job without a policy keeps the form (and identity) it had.
            **({"sla_policy": _json(interpolated.sla_policy().unwrap())}
               if interpolated.has_sla_policy() else {}),
        },
        "update_config": _json(interpolated.update_config()),
        "health_check_config": _json(interpolated.health_check_config()),
    }


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
