"""Between Mesos's resources and ours: v1 offers as placement offers, launches as TaskInfos.

An agent may have several outstanding offers (resources freed at different times); the
placer sees them as one offer per agent, and a launch accepts all of that agent's offers
at once (Mesos allows accepting several offers of one agent in one ACCEPT).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aurora_provider.framework.backends.base import Launch
from aurora_provider.framework.backends.mesos.containers import executor_container
from aurora_provider.framework.model.executors import CustomExecutor
from aurora_provider.framework.placement.offers import Offer
from aurora_provider.mesos.task_data import AssignedTask

SCALARS = {"cpus": "cpu", "mem": "ram_mb", "disk": "disk_mb", "gpus": "gpu"}


def _attribute_value(attribute: Mapping[str, Any]) -> str | None:
    kind = attribute.get("type")
    if kind == "TEXT":
        return str((attribute.get("text") or {}).get("value", ""))
    if kind == "SCALAR":
        value = float((attribute.get("scalar") or {}).get("value", 0.0))
        return str(int(value)) if value.is_integer() else str(value)
    if kind == "SET":
        return ",".join(str(v) for v in (attribute.get("set") or {}).get("item", []))
    if kind == "RANGES":
        return ",".join(f"{r['begin']}-{r['end']}"
                        for r in (attribute.get("ranges") or {}).get("range", []))
    return None


def attributes(offer: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for attribute in offer.get("attributes") or []:
        value = _attribute_value(attribute)
        if value is not None:
            found[str(attribute["name"])] = value
    return found


def agent_offer(agent_id: str, offers: Sequence[Mapping[str, Any]]) -> Offer:
    """One placement offer for all of an agent's outstanding offers."""
    amounts = {"cpu": 0.0, "ram_mb": 0.0, "disk_mb": 0.0, "gpu": 0.0}
    ranges: list[tuple[int, int]] = []
    for offer in offers:
        for resource in offer.get("resources") or []:
            if resource.get("revocable") is not None or resource.get("reservations"):
                continue  # revocable and reserved resources are not ours to place on
            name = resource.get("name")
            if name in SCALARS and resource.get("type") == "SCALAR":
                amounts[SCALARS[name]] += float(resource["scalar"]["value"])
            elif name == "ports" and resource.get("type") == "RANGES":
                ranges.extend((int(r["begin"]), int(r["end"]))
                              for r in resource["ranges"].get("range", []))
    first = offers[0]
    return Offer(offer_id=agent_id, agent_id=agent_id, hostname=str(first["hostname"]),
                 cpu=amounts["cpu"], ram_mb=amounts["ram_mb"], disk_mb=amounts["disk_mb"],
                 gpu=int(amounts["gpu"]), port_ranges=sorted(ranges),
                 attributes=attributes(first))


def _scalar(name: str, value: float, role: str) -> dict[str, Any]:
    return {"name": name, "type": "SCALAR", "scalar": {"value": round(value, 4)}, "role": role}


def _port_ranges(ports: Iterable[int]) -> list[dict[str, int]]:
    out: list[dict[str, int]] = []
    for port in sorted(set(ports)):
        if out and out[-1]["end"] == port - 1:
            out[-1]["end"] = port
        else:
            out.append({"begin": port, "end": port})
    return out


def offer_role(offers: Sequence[Mapping[str, Any]]) -> str:
    """The role the offered resources are allocated to ("*" unless the framework has one)."""
    for offer in offers:
        for resource in offer.get("resources") or []:
            allocation = resource.get("allocation_info") or {}
            if allocation.get("role"):
                return str(allocation["role"])
            if resource.get("role"):
                return str(resource["role"])
    return "*"


def _our_command(command: str, uris: Sequence[str]) -> dict[str, Any]:
    """Our executor's CommandInfo: a shell command, with what the agent fetches first."""
    info: dict[str, Any] = {"value": command, "shell": True}
    if uris:
        info["uris"] = [{"value": uri, "executable": True} for uri in uris]
    return info


def task_info(launch: Launch, *, framework_id: str, role: str, executor_command: str,
              executor_name: str, executor_uris: Sequence[str] = (),
              custom: CustomExecutor | None = None,
              announcer_ensemble: str | None = None,
              announcer_zk_path_prefix: str | None = None) -> dict[str, Any]:
    """The TaskInfo of one launch: the task's resources, our executor with its overhead (in
    the job's container, if it has one), and the assigned task (with the job's wire form and
    the scheduler's ZooKeeper for Announcers) as the data.

    A job naming a ``custom`` executor gets that executor's ExecutorInfo instead (its
    command, its resources as the overhead, its task prefix, its volume mounts); the data
    is then that job's own executor data, in the same assigned task."""
    resources = launch.config.task.resources
    task = [_scalar("cpus", resources.cpu, role), _scalar("mem", resources.ram_mb, role)]
    if resources.disk_mb > 0:
        task.append(_scalar("disk", resources.disk_mb, role))
    if resources.gpu > 0:
        task.append(_scalar("gpus", float(resources.gpu), role))
    if launch.ports:
        task.append({"name": "ports", "type": "RANGES", "role": role,
                     "ranges": {"range": _port_ranges(launch.ports.values())}})
    overhead = [_scalar("cpus", max(launch.cpu - resources.cpu, 0.01), role),
                _scalar("mem", max(launch.ram_mb - resources.ram_mb, 1.0), role)]
    if launch.disk_mb - resources.disk_mb > 0:
        overhead.append(_scalar("disk", launch.disk_mb - resources.disk_mb, role))
    if custom is not None:  # placement added exactly these (Demands' overhead)
        overhead = [_scalar(name, amount, role) for name, amount in custom.resources.items()]
    data = AssignedTask(task_id=launch.task_id, instance=launch.instance,
                        hostname=launch.hostname, ports=dict(launch.ports),
                        executor_data=launch.config.task.executor_data,
                        announcer_ensemble=announcer_ensemble,
                        announcer_zk_path_prefix=announcer_zk_path_prefix)
    key = launch.config.key
    executor: dict[str, Any] = {
        "type": "CUSTOM",
        # One executor per task, as Aurora's Thermos: its id names the task.
        "executor_id": {"value": f"{custom.task_prefix if custom else 'thermos-'}"
                                 f"{launch.task_id}"},
        "framework_id": {"value": framework_id},
        "name": custom.name if custom else executor_name,
        "source": key.path.replace("/", "."),
        "command": (json.loads(json.dumps(custom.command)) if custom
                    else _our_command(executor_command, executor_uris)),
        "resources": overhead,
    }
    container = executor_container(launch.config.wire["task"].get("container"),
                                   custom.volume_mounts if custom else ())
    if container is not None:
        executor["container"] = container
    return {
        "name": f"{key.role}.{key.environment}.{key.name}.{launch.instance}",
        "task_id": {"value": launch.task_id},
        "agent_id": {"value": launch.agent_id},
        "resources": task,
        "executor": executor,
        "data": data.to_base64(),
        "labels": {"labels": [{"key": "org.apache.aurora.tier",
                               "value": launch.config.task.tier or "preferred"}]},
    }
