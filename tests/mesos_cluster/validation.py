"""The master's semantic checks, after the schema's: a subscribing FrameworkInfo (Mesos's
``validateFramework``), an ACCEPT's offers, then each task (``validation::offer``,
``validation::task``). Each returns the error text the real master sends (in an ERROR event,
or in the TASK_LOST / TASK_DROPPED / TASK_ERROR update), or None.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from tests.mesos_cluster import wire
from tests.mesos_cluster.master_state import AgentRecord, Framework
from tests.mesos_cluster.resources import Resources, invalid
from tests.mesos_cluster.wire import Json

if TYPE_CHECKING:
    from tests.mesos_cluster.master import Master

NAME_MAX = 255
_INVALID_ID_CHARACTER = re.compile(r"[\x00-\x1f\x7f/\\]")  # controls, slashes


def framework_error(info: Json, completed: Collection[str]) -> str | None:
    """Why a subscription with this FrameworkInfo is refused, or None."""
    multi_role = wire.has_capability(info, "MULTI_ROLE")
    if multi_role and "role" in info:
        return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"
    if not multi_role and info.get("roles"):
        return ("'FrameworkInfo.roles' must not be set when the framework is not"
                " MULTI_ROLE capable")
    roles = wire.framework_roles(info)
    if len(set(roles)) != len(roles):
        return f"'FrameworkInfo.roles' contains duplicate items: {roles}"
    for role in roles:
        problem = role_error(role)
        if problem:
            return f"'FrameworkInfo.role' is not a valid role: {problem}"
    timeout = info.get("failover_timeout", 0.0)
    if not -9.2e9 < timeout < 9.2e9:
        return f"The framework failover_timeout ({timeout}) is invalid"
    framework_id = wire.value(info.get("id"))
    if framework_id and framework_id in completed:
        return "Framework has been removed"
    return None


def role_error(role: str) -> str | None:
    """Why ``role`` is not a valid Mesos role name (roles::validate), or None."""
    if role == "*":
        return None
    if not role:
        return "Empty role name is invalid"
    for part in role.split("/"):
        if part in ("", ".", ".."):
            return f"Role '{role}' cannot contain an empty, '.' or '..' path segment"
        if part.startswith("-"):
            return f"Role '{role}' cannot start a path segment with '-'"
        if part == "*":
            return f"Role '{role}' cannot contain '*' as a path segment"
        if any(c.isspace() or c in "\\" or not c.isprintable() for c in part):
            return f"Role '{role}' cannot contain whitespace, control characters or '\\'"
    return None


def offers_error(master: Master, framework: Framework, offer_ids: list[str]) -> str | None:
    if not offer_ids:
        return "No offers specified"
    if len(set(offer_ids)) != len(offer_ids):
        duplicate = next(o for o in offer_ids if offer_ids.count(o) > 1)
        return f"Duplicate offer {duplicate} in offer list"
    for offer_id in offer_ids:
        if offer_id not in master.offers:
            return f"Offer {offer_id} is no longer valid"
    offers = [master.offers[o] for o in offer_ids]
    for offer in offers:
        if offer.framework_id != framework.id:
            return (f"Offer {offer.id} has invalid framework {offer.framework_id} while"
                    f" framework {framework.id} is expected")
    if len({o.role for o in offers}) > 1:
        return "Aggregated offers must be allocated to the same role"
    if len({o.agent_id for o in offers}) > 1:
        return ("Aggregated offers must belong to one single agent. Offer "
                f"{offers[-1].id} uses agent {offers[-1].agent_id} and agent "
                f"{offers[0].agent_id}")
    return None


def id_error(kind: str, text: str) -> str | None:
    """Mesos's common::validation::validateID for task and executor ids."""
    if not text:
        return f"{kind} ID must not be empty"
    if len(text) > NAME_MAX:
        return f"{kind} ID must not be greater than {NAME_MAX} characters"
    if text in (".", ".."):
        return f"'{text}' is disallowed"
    if _INVALID_ID_CHARACTER.search(text):
        return f"'{text}' contains invalid characters"
    return None


def task_error(task: Json, framework: Framework, agent: AgentRecord,
               available: Resources) -> str | Resources:
    """Why ``task`` cannot be launched from ``available`` on ``agent``; else what it takes
    from ``available`` (its resources, and its executor's when that is launched with it)."""
    task_id = wire.value(task["task_id"])
    problem = id_error("Task", task_id)
    if problem:
        return problem
    if task_id in framework.tasks:
        return f"Task has duplicate ID: {task_id}"
    if task_id in framework.unreachable_tasks:
        return f"Task reuses the ID of an unreachable task: {task_id}"
    if wire.value(task["agent_id"]) != agent.id:
        return (f"Task uses invalid agent {wire.value(task['agent_id'])} while agent"
                f" {agent.id} is expected")
    grace = task.get("kill_policy", {}).get("grace_period", {}).get("nanoseconds", 0)
    if grace < 0:
        return "Task's 'kill_policy.grace_period' must be non-negative"
    resources = task.get("resources", [])
    if not resources:
        return "Task uses no resources"
    problem = invalid(resources)
    if problem:
        return f"Task uses invalid resources: {problem}"
    if "limits" in task:
        return "Agent is not capable of handling task resource limits"
    problem = container_error(task.get("container"), "Task")
    if problem:
        return problem
    return _executor_error(task, framework, agent, available)


def container_error(container: Json | None, owner: str) -> str | None:
    """Mesos's ``validateContainerInfo`` (after the schema's field and enum checks)."""
    if container is None:
        return None
    if container["type"] == "DOCKER" and "docker" not in container:
        return (f"{owner}'s ContainerInfo is invalid: DockerInfo 'docker' is not set for "
                "DOCKER typed ContainerInfo")
    if container["type"] == "DOCKER" and not container["docker"]["image"]:
        return f"{owner}'s ContainerInfo is invalid: DockerInfo 'image' is not set"
    if container["type"] == "MESOS" and "docker" in container:
        return (f"{owner}'s ContainerInfo is invalid: DockerInfo 'docker' is set for "
                "MESOS typed ContainerInfo")
    for volume in container.get("volumes", []):
        if sum(key in volume for key in ("host_path", "image", "source")) > 1:
            return (f"{owner}'s ContainerInfo is invalid: Only one of them should be set: "
                    "'host_path', 'image' and 'source' in Volume")
    return None


def _executor_error(task: Json, framework: Framework, agent: AgentRecord,
                    available: Resources) -> str | Resources:
    if ("executor" in task) == ("command" in task):
        return ("Task should have at least one (but not both) of CommandInfo or"
                " ExecutorInfo present")
    total = Resources.of(task["resources"])
    executor = task.get("executor")
    if executor is not None:
        problem = executor_error(executor, framework, agent)
        if problem:
            return problem
        if not agent.has_executor(framework.id, wire.value(executor["executor_id"])):
            total = total + Resources.of(executor.get("resources", []))
    if not available.contains(total):
        return (f"Total resources {total} required by task and its executor is more than"
                f" available {available}")
    return total


def executor_error(executor: Json, framework: Framework, agent: AgentRecord) -> str | None:
    kind = executor.get("type")
    if kind == "DEFAULT" and "command" in executor:
        return "'ExecutorInfo.command' must not be set for 'DEFAULT' executor"
    if kind == "CUSTOM" and "command" not in executor:
        return "'ExecutorInfo.command' must be set for 'CUSTOM' executor"
    executor_id = wire.value(executor["executor_id"])
    problem = id_error("Executor", executor_id)
    if problem:
        return problem
    grace = executor.get("shutdown_grace_period", {}).get("nanoseconds", 0)
    if grace < 0:
        return "ExecutorInfo's 'shutdown_grace_period' must be non-negative"
    if wire.value(executor.get("framework_id")) != framework.id:
        return (f"ExecutorInfo has an invalid FrameworkID (Actual: "
                f"{wire.value(executor.get('framework_id'))} vs Expected: {framework.id})")
    problem = invalid(executor.get("resources", []))
    if problem:
        return f"Executor uses invalid resources: {problem}"
    problem = container_error(executor.get("container"), "Executor")
    if problem:
        return problem
    existing = agent.executors.get(framework.id, {}).get(executor_id)
    if existing is not None and existing != executor:
        return ("ExecutorInfo is not compatible with existing ExecutorInfo with same"
                f" ExecutorID {executor_id}")
    if kind is not None and kind != "CUSTOM":
        return "'ExecutorInfo.type' must be 'CUSTOM'"
    if "command" not in executor:
        return "'ExecutorInfo.command' must be set"
    return None
