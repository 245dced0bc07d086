"""The rows of the scheduler's core aggregates, as the repositories hand them out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aurora_provider.states.restart import RestartState
from aurora_provider.states.task import TaskState


@dataclass(frozen=True)
class JobRow:
    job_key: str  # role/environment/name
    cluster: str
    config_id: int
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class TaskRow:
    task_id: str
    job_key: str
    instance: int
    config_id: int
    status: TaskState
    created_at: float
    status_at: float
    agent_id: str | None = None
    host: str | None = None
    ports: Mapping[str, int] = field(default_factory=dict)
    failure_count: int = 0
    ancestor_id: str | None = None
    throttle_until: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class EventRow:
    task_id: str
    timestamp: float
    status: TaskState
    message: str | None = None


@dataclass
class TaskWrite:
    """Rows and events collected during one operation, written in one transaction."""

    new: list[TaskRow] = field(default_factory=list)
    changed: list[TaskRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.events)


@dataclass(frozen=True)
class RestartRow:
    """A rolling restart: ``batch_size`` instances at a time."""

    restart_id: int
    job_key: str
    state: RestartState
    batch_size: int
    pending: tuple[int, ...]  # instances still to restart, in order
    in_flight: Mapping[int, str]  # instance -> the task being replaced
    done: tuple[int, ...]
    started_at: float
    updated_at: float
    message: str | None = None
    # Aurora's restart limits: a replacement counts once RUNNING for ``watch_secs``; an
    # instance fails when its replacements fail more than ``max_per_instance_failures``
    # times (-1: no limit), the restart when more than ``max_total_failures`` instances do.
    watch_secs: float = 0.0
    max_per_instance_failures: int = 0
    max_total_failures: int = 0
    failures: Mapping[int, int] = field(default_factory=dict)  # instance -> failed replacements
    failed: tuple[int, ...] = ()  # instances over the per-instance limit
    watching: Mapping[int, str] = field(default_factory=dict)  # instance -> its replacement
