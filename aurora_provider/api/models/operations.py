"""Wire models of the operations: cron jobs and runs, quotas, host maintenance,
backups and housekeeping."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, RootModel

from aurora_provider.api.models.base import Name, Strict
from aurora_provider.api.models.jobs import JobConfiguration
from aurora_provider.states.cron_run import CronOutcome, CronRunState
from aurora_provider.states.maintenance import MaintenanceMode
from aurora_provider.states.task import TERMINAL


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


# The largest quota a role may hold: a billion cores, an exbibyte of RAM and disk.
MAX_QUOTA_CPU = 1e9
MAX_QUOTA_MB = 1024.0**4


class QuotaRequest(Strict):
    """A quota to set, or to add to a role's quota: finite, within the bounds."""

    # strict: "1" or true is not a number (the OpenAPI document says number).
    cpu: float = Field(ge=0, le=MAX_QUOTA_CPU, strict=True)
    ram_mb: float = Field(ge=0, le=MAX_QUOTA_MB, strict=True)
    disk_mb: float = Field(ge=0, le=MAX_QUOTA_MB, strict=True)


class ResourceAmounts(BaseModel):
    cpu: float = Field(ge=0)
    ram_mb: float = Field(ge=0)
    disk_mb: float = Field(ge=0)


class QuotaReport(BaseModel):
    role: str
    quota: ResourceAmounts
    production: ResourceAmounts  # consumed by preferred-tier, non-dedicated tasks
    non_production: ResourceAmounts


class HostsRequest(Strict):
    hosts: list[Name] = Field(min_length=1, max_length=100_000)


class DrainRequest(HostsRequest):
    percentage: float | None = Field(
        default=None, ge=0, le=100, strict=True,
        description="keep at least this share of each job's instances RUNNING")


class HostStatusModel(BaseModel):
    host: str
    mode: MaintenanceMode
    percentage: float | None = None
    active_tasks: int
    # An SLA-aware drain: its default SLA's duration (with ``percentage``), when it is
    # forced, and why tasks still wait.
    sla_duration_secs: float | None = None
    force_drain_at: float | None = None
    sla_holds: list[str] = Field(default_factory=list)


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
    work_dir: str = Field(min_length=1, max_length=4096, json_schema_extra={"pattern": "^/"},
                          description="an empty directory on the scheduler host")


class RestoreResponse(BaseModel):
    backup_id: str
    work_dir: str
    database: str


_TERMINAL = sorted(s.value for s in TERMINAL)


class PruneRequest(Strict):
    # terminal states; default all (checked by the scheduler, listed for the OpenAPI document)
    states: list[Annotated[Name, Field(json_schema_extra={"enum": _TERMINAL})]] | None = Field(
        default=None, max_length=100)
    role: Name | None = None
    environment: Name | None = None
    name: Name | None = None
    limit: int | None = Field(default=None, ge=1, le=10_000_000)


class PruneResponse(BaseModel):
    pruned: list[str]  # task ids


class ReconcileResponse(BaseModel):
    checked: int
    changed: list[str]


class StatVars(RootModel[dict[str, float]]):
    """Aurora's ``/vars.json``: every stat by its flat name (``task_store_RUNNING``...)."""
