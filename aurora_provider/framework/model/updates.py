"""A job update's values: its settings, its record with per-instance progress, its events.

All immutable: a step of the engine or a user action returns new values, which are persisted
before they replace the old ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from aurora_provider.states.instance_update import MACHINE, InstanceAction, InstanceUpdateState
from aurora_provider.states.update import FORWARD, UpdateStatus

QUEUE, BATCH, VARIABLE_BATCH = "queue", "batch", "variable_batch"


@dataclass(frozen=True)
class UpdateSettings:
    """A job's ``update_config`` as the engine reads it (see ``updates.plan``)."""

    batch_size: int = 1
    watch_secs: float = 45.0
    max_per_shard_failures: int = 0
    max_total_failures: int = 0
    rollback_on_failure: bool = True
    wait_for_batch_completion: bool = False
    pulse_interval_secs: float | None = None
    strategy: str = QUEUE
    batch_sizes: tuple[int, ...] = field(default_factory=tuple)  # variable batch only
    autopause_after_batch: bool = False
    sla_aware: bool = False  # kills wait for the job's SLA policy (``updates.sla``)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["batch_sizes"] = list(self.batch_sizes)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UpdateSettings:
        values = dict(data)
        values["batch_sizes"] = tuple(values.get("batch_sizes", ()))
        return cls(**values)


@dataclass(frozen=True)
class InstanceProgress:
    """One instance in the update's current direction.

    The ``with_*`` methods return new values (built directly: thousands per round in a
    large update, where ``dataclasses.replace`` would cost more than the update's logic).
    """

    desired: int | None  # the task configuration wanted (None: the instance goes away)
    state: InstanceUpdateState = InstanceUpdateState.IDLE
    failures: int = 0
    task_id: str | None = None  # the task with the desired configuration being watched

    def with_state(self, instance: int, state: InstanceUpdateState) -> InstanceProgress:
        """``instance`` moves on, checked against ``states.instance_update``."""
        MACHINE.transition(str(instance), self.state, state)
        return InstanceProgress(self.desired, state, self.failures, self.task_id)

    def with_task(self, task_id: str | None) -> InstanceProgress:
        return InstanceProgress(self.desired, self.state, self.failures, task_id)

    def with_failure(self) -> InstanceProgress:
        """The watched task ended on its own: one more failure, nothing watched."""
        return InstanceProgress(self.desired, self.state, self.failures + 1, None)


@dataclass(frozen=True)
class UpdateRecord:
    update_id: str
    job_key: str  # role/environment/name
    cluster: str
    status: UpdateStatus
    user: str
    created_at: float
    updated_at: float
    settings: UpdateSettings
    desired_config_id: int
    desired_instances: int
    initial: Mapping[int, int]  # instance -> the configuration it ran before
    scope: Mapping[str, list[int]]  # "add", "remove", "replace" -> instances
    progress: Mapping[int, InstanceProgress]
    groups_started: int = 0
    last_pulse_at: float | None = None
    message: str | None = None
    # The instances the user limited the update to (Aurora's updateOnlyTheseInstances);
    # None: every instance. The others keep their configuration, whatever it is.
    only_instances: tuple[int, ...] | None = None
    creates_job: bool = False  # started on a job that did not exist: the update creates it

    @property
    def forward(self) -> bool:
        return self.status in FORWARD

    def in_state(self, state: InstanceUpdateState) -> list[int]:
        return [i for i, p in self.progress.items() if p.state is state]

    def with_progress(self, instance: int, progress: InstanceProgress) -> UpdateRecord:
        return replace(self, progress={**self.progress, instance: progress})


@dataclass(frozen=True)
class UpdateEvent:
    timestamp: float
    status: UpdateStatus
    user: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class InstanceEvent:
    instance: int
    timestamp: float
    action: InstanceAction
