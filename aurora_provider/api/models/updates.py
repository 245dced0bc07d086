"""Wire models of job updates: starting and steering one, and its details."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from aurora_provider.api.models.base import Instance, Message, Name, Strict
from aurora_provider.api.models.jobs import JobConfiguration
from aurora_provider.config.validation import MAX_INSTANCES
from aurora_provider.states.instance_update import InstanceAction, InstanceUpdateState
from aurora_provider.states.update import UpdateStatus


class StartUpdateRequest(Strict):
    job: JobConfiguration
    message: Message | None = Field(default=None, description="why; recorded with the first event")
    instances: list[Instance] | None = Field(
        default=None, min_length=1, max_length=MAX_INSTANCES,
        description="update only these instances (a canary); each must be running or in "
                    "the new configuration; null updates them all")


class UpdateActionRequest(Strict):
    """Pause, resume, abort, rollback or pulse the job's active update."""

    message: Message | None = None
    update_id: Name | None = Field(default=None,
                                  description="refuse (409) unless this is the active update")


class UpdateSettingsModel(BaseModel):
    batch_size: int
    watch_secs: float
    max_per_shard_failures: int
    max_total_failures: int
    rollback_on_failure: bool
    wait_for_batch_completion: bool
    pulse_interval_secs: float | None = None
    strategy: Literal["queue", "batch", "variable_batch"]
    batch_sizes: list[int] = []
    autopause_after_batch: bool = False
    sla_aware: bool = False


class UpdateEventModel(BaseModel):
    timestamp: float
    status: UpdateStatus
    user: str | None = None
    message: str | None = None


class InstanceEventModel(BaseModel):
    instance: int
    timestamp: float
    action: InstanceAction


class InstanceProgressModel(BaseModel):
    instance: int
    state: InstanceUpdateState  # in the current direction
    failures: int
    task_id: str | None = None


class UpdateSummary(BaseModel):
    update_id: str
    key: str  # cluster/role/environment/name
    status: UpdateStatus
    active: bool
    user: str
    message: str | None = None
    created_at: float
    updated_at: float
    only_instances: list[int] | None = None  # the scope asked for; null: every instance
    creates_job: bool = False  # the job did not exist: this update creates it


class UpdateDetails(UpdateSummary):
    settings: UpdateSettingsModel
    instances: int  # the instance count the update brings the job to
    add: list[int]
    remove: list[int]
    replace: list[int]
    last_pulse_at: float | None = None
    progress: list[InstanceProgressModel]
    events: list[UpdateEventModel]
    instance_events: list[InstanceEventModel]


class UpdateList(BaseModel):
    updates: list[UpdateSummary]
