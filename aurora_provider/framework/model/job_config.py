"""A job's configuration as the scheduler reads it: typed, with one canonical form and one
identity digest.

The wire form (``aurora_provider.config.job_to_wire``, validated by the API's
``JobConfiguration``) is what users send and what the store keeps. It is parsed into a
:class:`JobConfig` once per stored configuration; every part of the scheduler reads the
typed fields, never the dict.

Two questions have one answer each, here:

* *Is this the same text?* ``canonical``: the wire form as sorted, compact JSON. Equal jobs
  give equal text; the store keeps one row per job and canonical text.
* *Does an instance run the same thing?* ``identity``: a digest of the configuration without
  what does not change a running instance (``instances`` and ``update_config``, at the top and
  inside the executor's copy of the job). Diff, updates, cron and quota compare identities.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aurora_provider.framework.model.executors import OUR_EXECUTOR, executor_name

# What a running instance does not see: changing only these replaces no instance.
_NOT_IDENTITY = ("instances", "update_config")


@dataclass(frozen=True)
class JobKey:
    cluster: str
    role: str
    environment: str
    name: str

    @property
    def path(self) -> str:
        """``role/environment/name``: the job's address on one scheduler."""
        return f"{self.role}/{self.environment}/{self.name}"

    def __str__(self) -> str:
        return f"{self.cluster}/{self.path}"


@dataclass(frozen=True)
class Resources:
    """What one instance asks for (without the executor's overhead)."""

    cpu: float
    ram_mb: float
    disk_mb: float
    gpu: int = 0


@dataclass(frozen=True)
class ValueConstraint:
    """The agent's attribute ``name`` is (or, negated, is not) one of ``values``."""

    name: str
    values: frozenset[str]
    negated: bool = False


@dataclass(frozen=True)
class LimitConstraint:
    """At most ``limit`` active tasks of the job per value of the attribute ``name``."""

    name: str
    limit: int


Constraint = ValueConstraint | LimitConstraint
DEDICATED = "dedicated"


@dataclass(frozen=True)
class TaskConfig:
    is_service: bool
    max_task_failures: int  # -1: retry forever
    priority: int
    production: bool
    tier: str | None
    resources: Resources
    requested_ports: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    metadata: tuple[tuple[str, str], ...]
    executor_data: str  # ours: the whole job as JSON; a custom executor's: its own data
    executor_name: str = OUR_EXECUTOR

    @property
    def is_custom_executor(self) -> bool:
        """Another executor runs it: ``executor_data`` is opaque, not the job."""
        return self.executor_name != OUR_EXECUTOR

    def metadata_value(self, key: str) -> str | None:
        return next((v for k, v in self.metadata if k == key), None)

    @property
    def is_dedicated(self) -> bool:
        return any(c.name == DEDICATED for c in self.constraints)


@dataclass(frozen=True)
class JobConfig:
    """A job's configuration; build it with :meth:`from_wire`."""

    key: JobKey
    instances: int
    cron_schedule: str | None
    cron_collision_policy: str
    task: TaskConfig
    update_config: Mapping[str, Any]
    wire: Mapping[str, Any] = field(repr=False, compare=False)
    canonical: str = field(repr=False)
    identity: str = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> JobConfig:
        """Read a wire form the API validated (or the store kept); raises ``KeyError`` /
        ``ValueError`` / ``TypeError`` on a malformed one."""
        data = json.loads(canonical_text(wire))  # a private copy: nobody else mutates it
        key = data["key"]
        task = data["task"]
        res = task["resources"]
        return cls(
            key=JobKey(str(key["cluster"]), str(key["role"]), str(key["environment"]),
                       str(key["name"])),
            instances=int(data["instances"]),
            cron_schedule=data.get("cron_schedule") or None,
            cron_collision_policy=str(data.get("cron_collision_policy") or "KILL_EXISTING"),
            task=TaskConfig(
                is_service=bool(task.get("is_service", False)),
                max_task_failures=int(task.get("max_task_failures", 1)),
                priority=int(task.get("priority", 0)),
                production=bool(task.get("production", False)),
                tier=str(task["tier"]) if task.get("tier") else None,
                resources=Resources(float(res["cpu"]), float(res["ram_mb"]),
                                    float(res["disk_mb"]), int(res.get("gpu", 0))),
                requested_ports=tuple(task.get("requested_ports") or ()),
                constraints=tuple(_constraint(c) for c in task.get("constraints") or ()),
                metadata=tuple((str(m.get("key")), str(m.get("value")))
                               for m in task.get("metadata") or ()),
                executor_data=str(task["executor_config"]["data"]),
                executor_name=executor_name(data),
            ),
            update_config=dict(data.get("update_config") or {}),
            wire=data,
            canonical=canonical_text(data),
            identity=identity_of(data),
        )

    @classmethod
    def from_text(cls, text: str) -> JobConfig:
        return cls.from_wire(json.loads(text))

    @property
    def job_key(self) -> str:
        """``role/environment/name``."""
        return self.key.path

    def with_instances(self, instances: int) -> JobConfig:
        """The same configuration for another instance count."""
        return JobConfig.from_wire({**self.wire, "instances": instances})


def _constraint(c: Mapping[str, Any]) -> Constraint:
    if "limit" in c:
        return LimitConstraint(str(c["name"]), int(c["limit"]))
    return ValueConstraint(str(c["name"]), frozenset(c.get("values") or ()),
                           bool(c.get("negated", False)))


def canonical_text(wire: Mapping[str, Any]) -> str:
    """The one text of a configuration: sorted keys, no spaces."""
    return json.dumps(wire, sort_keys=True, separators=(",", ":"))


def identity_of(wire: Mapping[str, Any]) -> str:
    """The digest of what one instance runs (see the module's docstring)."""
    data = {k: v for k, v in wire.items() if k not in _NOT_IDENTITY}
    task = dict(data.get("task") or {})
    executor = dict(task.get("executor_config") or {})
    raw = executor.get("data")
    # Only our executor's data is the job; a custom executor's is opaque and counts whole.
    if isinstance(raw, str) and executor_name(wire) == OUR_EXECUTOR:
        try:
            job: Any = json.loads(raw)
        except ValueError:
            job = raw
        if isinstance(job, dict):
            job = {k: v for k, v in job.items() if k not in _NOT_IDENTITY}
        executor["data"] = job
    task["executor_config"] = executor
    data["task"] = task
    return hashlib.sha256(canonical_text(data).encode()).hexdigest()
