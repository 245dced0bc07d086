"""What a master knows: frameworks, agents, tasks, offers, filters, and the shared registry.

Plain records; the master (``master.py``) is the only one that changes them, on its loop.
``Registry`` stands for Mesos's replicated log: the agents every master has admitted, which
a newly elected master expects to re-register.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.mesos_cluster import wire
from tests.mesos_cluster.resources import Resources
from tests.mesos_cluster.wire import Json

if TYPE_CHECKING:
    from tests.mesos_cluster.actor import EventStream
    from tests.mesos_cluster.links import AgentLink


@dataclass
class Task:
    info: Json  # the TaskInfo as launched
    framework_id: str
    agent_id: str
    hostname: str = ""  # its agent's, kept for when the agent is gone
    state: str = "TASK_STAGING"
    statuses: list[Json] = field(default_factory=list)
    status_update_state: str | None = None  # of the update last sent to the framework
    status_update_uuid: str | None = None

    @property
    def id(self) -> str:
        return wire.value(self.info["task_id"])

    @property
    def executor_id(self) -> str | None:
        executor = self.info.get("executor")
        return wire.value(executor["executor_id"]) if executor else None

    @functools.cached_property
    def resources(self) -> Resources:
        """What it uses (its TaskInfo, never changed once launched, is read once)."""
        return Resources.of(self.info.get("resources", []))

    def latest_state(self) -> str:
        """What reconciliation reports: the state last sent to the framework, else the latest."""
        return self.status_update_state or self.state

    def to_json(self) -> Json:
        """The v1 ``Task`` (as in the master's state)."""
        task: Json = {
            "name": self.info["name"], "task_id": self.info["task_id"],
            "framework_id": wire.wrap(self.framework_id),
            "agent_id": wire.wrap(self.agent_id), "state": self.state,
            "resources": self.info.get("resources", []), "statuses": self.statuses,
        }
        if self.executor_id:
            task["executor_id"] = wire.wrap(self.executor_id)
        if self.status_update_state:
            task["status_update_state"] = self.status_update_state
            task["status_update_uuid"] = self.status_update_uuid
        for key in ("labels", "discovery", "container", "health_check", "kill_policy"):
            if key in self.info:
                task[key] = self.info[key]
        return task


@dataclass(frozen=True)
class RecordedCall:
    """A call a master or an agent received: its type, JSON body and HTTP status."""

    receiver: str
    type: str
    body: Json
    status: int


@dataclass
class Filter:
    resources: Resources
    expires: float  # time.monotonic()

    def refuses(self, offered: Resources, now: float) -> bool:
        return now < self.expires and self.resources.contains(offered)


@dataclass
class Framework:
    id: str
    info: Json
    stream: EventStream | None = None
    stream_id: str | None = None
    connected: bool = False
    active: bool = False
    recovered: bool = False  # learnt from a re-registering agent, not subscribed here yet
    principal: str | None = None
    suppressed: set[str] = field(default_factory=set)
    filters: dict[tuple[str, str], list[Filter]] = field(default_factory=dict)  # role, agent
    offers: set[str] = field(default_factory=set)
    tasks: dict[str, Task] = field(default_factory=dict)
    unreachable_tasks: dict[str, Task] = field(default_factory=dict)
    completed_tasks: deque[Task] = field(default_factory=lambda: deque(maxlen=1000))
    heartbeat: asyncio.TimerHandle | None = None
    reregistered_time: float = field(default_factory=time.monotonic)
    registered_time: float = field(default_factory=wire.now)

    @property
    def name(self) -> str:
        return str(self.info.get("name", ""))

    @property
    def roles(self) -> list[str]:
        return wire.framework_roles(self.info)

    @property
    def partition_aware(self) -> bool:
        return wire.has_capability(self.info, "PARTITION_AWARE")

    @property
    def multi_role(self) -> bool:
        return wire.has_capability(self.info, "MULTI_ROLE")

    @property
    def failover_timeout(self) -> float:
        return float(self.info.get("failover_timeout", 0.0))

    def send(self, event: Json) -> None:
        if self.connected and self.stream is not None:
            self.stream.send(event)

    def summary(self) -> Json:
        return {
            "id": self.id, "name": self.name, "connected": self.connected,
            "active": self.active, "recovered": self.recovered,
            "role": self.info.get("role", "*"), "roles": self.roles,
            "failover_timeout": self.failover_timeout,
            "checkpoint": bool(self.info.get("checkpoint", False)),
            "capabilities": [c.get("type") for c in self.info.get("capabilities", [])],
            "principal": self.principal, "suppressed_roles": sorted(self.suppressed),
            "offers": len(self.offers), "tasks": len(self.tasks),
        }


@dataclass
class Offer:
    id: str
    framework_id: str
    agent_id: str
    role: str
    resources: Resources


@dataclass
class AgentRecord:
    id: str
    info: Json  # AgentInfo: hostname, port, resources, attributes, id
    link: AgentLink
    total: Resources
    connected: bool = True
    used: Resources = field(default_factory=Resources)  # of live tasks and executors
    offered: Resources = field(default_factory=Resources)
    tasks: dict[tuple[str, str], Task] = field(default_factory=dict)  # (fid, tid)
    executors: dict[str, dict[str, Json]] = field(default_factory=dict)  # fid -> eid -> info
    offers: set[str] = field(default_factory=set)
    killed_tasks: set[tuple[str, str]] = field(default_factory=set)
    registered_time: float = field(default_factory=wire.now)

    @property
    def hostname(self) -> str:
        return str(self.info["hostname"])

    def available(self) -> Resources:
        return self.total - self.used - self.offered

    def has_executor(self, framework_id: str, executor_id: str) -> bool:
        return executor_id in self.executors.get(framework_id, {})


class Registry:
    """The agents admitted by any master, and those marked unreachable (shared by all the
    masters of a cluster, as Mesos's replicated log is)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admitted: dict[str, Json] = {}
        self._unreachable: dict[str, float] = {}

    def admit(self, agent_id: str, info: Json) -> None:
        with self._lock:
            self._admitted[agent_id] = wire.deep_copy(info)
            self._unreachable.pop(agent_id, None)

    def mark_unreachable(self, agent_id: str, when: float) -> None:
        with self._lock:
            self._admitted.pop(agent_id, None)
            self._unreachable[agent_id] = when

    def admitted(self) -> dict[str, Json]:
        with self._lock:
            return dict(self._admitted)

    def unreachable(self) -> dict[str, float]:
        with self._lock:
            return dict(self._unreachable)


def summary_of_task(task: Task, completed: bool = False) -> dict[str, Any]:
    return {"task_id": task.id, "agent_id": task.agent_id, "hostname": task.hostname,
            "state": task.state, "framework_id": task.framework_id,
            "executor_id": task.executor_id, "name": task.info.get("name"),
            "completed": completed}
