"""Wire models of the operations: cron jobs and runs, quotas, host maintenance,
backups and housekeeping."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from aurora_provider.api.models.base import Strict
from aurora_provider.api.models.jobs import JobConfiguration
from aurora_provider.states.cron_run import CronOutcome, CronRunState
from aurora_provider.states.maintenance import MaintenanceMode


class CronScheduleRequest(Strict):
    job: JobConfiguration


class CronRunModel(BaseModel):
    """One trigger of a cron job; ``outcome`` is set once all its tasks are terminal
    (FINISHED, FAILED, KILLED, LOST, or CANCELLED when the collision policy skipped it)."""

    run_id: int
    key: str  # cluster/role/environment/name
    scheduled_at: float | None = None  # null when started by hand
    triggered_at: float
    started_at: float | None = None  # when its tasks were created
    state: CronRunState
    outcome: CronOutcome | None = None
    task_ids: list[str] = []
    finished_at: float | None = None
    message: str | None = None


class CronJobModel(BaseModel):
    key: str
    schedule: str
    collision_policy: str
    timezone: str
    catch_up: bool
    instances: int
    next_runs: list[float]  # the next trigger times, epoch seconds
    created_at: float
    updated_at: float
    last_run: CronRunModel | None = None


class CronJobList(BaseModel):
    jobs: list[CronJobModel]


class CronRunList(BaseModel):
    key: str
    runs: list[CronRunModel]  # newest first


class ResourceAmounts(Strict):
    cpu: float = Field(ge=0)
    ram_mb: float = Field(ge=0)
    disk_mb: float = Field(ge=0)


class QuotaReport(BaseModel):
    role: str
    quota: ResourceAmounts
    production: ResourceAmounts  # consumed by preferred-tier, non-dedicated tasks
    non_production: ResourceAmounts


class HostsRequest(Strict):
    hosts: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)


class DrainRequest(HostsRequest):
    percentage: float | None = Field(
        default=None, ge=0, le=100,
        description="keep at least this share of each job's instances RUNNING")


class HostStatusModel(BaseModel):
    host: str
    mode: MaintenanceMode
    percentage: float | None = None
    active_tasks: int


class HostStatusList(BaseModel):
    hosts: list[HostStatusModel]


class BackupModel(BaseModel):
    backup_id: str
    created_at: float
    size_bytes: int
    format: str  # sqlite or json


class BackupList(BaseModel):
    backups: list[BackupModel]


class RestoreRequest(Strict):
    work_dir: str = Field(min_length=1, description="an empty directory on the scheduler host")


class RestoreResponse(BaseModel):
    backup_id: str
    work_dir: str
    database: str


class PruneRequest(Strict):
    states: list[str] | None = None  # terminal states; default all of them
    role: str | None = None
    environment: str | None = None
    name: str | None = None
    limit: int | None = Field(default=None, ge=1)


class PruneResponse(BaseModel):
    pruned: list[str]  # task ids


class ReconcileResponse(BaseModel):
    checked: int
    changed: list[str]
