"""Wire models of the scheduler's REST API (``/api/v1``), shared by server and clients.

Job configurations use the wire form of ``aurora_provider.config.job_to_wire``; fields the
scheduler does not read are kept (``extra="allow"``) so the configuration round-trips.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aurora_provider.states.cron_run import CronOutcome, CronRunState
from aurora_provider.states.instance_update import InstanceAction, InstanceUpdateState
from aurora_provider.states.maintenance import MaintenanceMode
from aurora_provider.states.restart import RestartState
from aurora_provider.states.task import TaskState
from aurora_provider.states.update import UpdateStatus

KeyPart = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\w\-\.]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class JobKeyModel(_Strict):
    cluster: KeyPart
    role: KeyPart
    environment: KeyPart
    name: KeyPart

    def path(self) -> str:
        """``role/environment/name``: the job's address on one scheduler."""
        return f"{self.role}/{self.environment}/{self.name}"

    def __str__(self) -> str:
        return f"{self.cluster}/{self.role}/{self.environment}/{self.name}"


class ResourcesModel(_Open):
    cpu: float = Field(gt=0)
    ram_mb: int = Field(gt=0)
    disk_mb: int = Field(gt=0)
    gpu: int = Field(default=0, ge=0)


class ValueConstraintModel(_Strict):
    name: str = Field(min_length=1)
    values: list[str]
    negated: bool = False


class LimitConstraintModel(_Strict):
    name: str = Field(min_length=1)
    limit: int = Field(ge=1)


class ExecutorConfigModel(_Open):
    name: str = "AuroraExecutor"
    data: str = Field(min_length=2, description="JSON of the whole job, read by the executor")


class TaskConfigModel(_Open):
    is_service: bool = False
    max_task_failures: int = Field(default=1, ge=-1)
    priority: int = 0
    production: bool = False
    tier: str | None = None
    contact: str | None = None
    resources: ResourcesModel
    requested_ports: list[Annotated[str, Field(min_length=1)]] = []
    constraints: list[LimitConstraintModel | ValueConstraintModel] = []
    metadata: list[dict[str, Any]] = []
    container: dict[str, Any] | None = None
    executor_config: ExecutorConfigModel


class JobConfiguration(_Open):
    """A job in wire form (``aurora_provider.config.job_to_wire``)."""

    key: JobKeyModel
    instances: int = Field(ge=1)
    cron_schedule: str | None = None
    cron_collision_policy: str = "KILL_EXISTING"
    task: TaskConfigModel
    update_config: dict[str, Any] = {}
    health_check_config: dict[str, Any] = {}


# -- requests ---------------------------------------------------------------------------


class CreateJobRequest(_Strict):
    job: JobConfiguration


class KillRequest(_Strict):
    instances: list[Annotated[int, Field(ge=0)]] | None = Field(
        default=None, description="instances to kill; null kills them all")
    message: str | None = None


class RestartRequest(_Strict):
    instances: list[Annotated[int, Field(ge=0)]] | None = None
    batch_size: int = Field(default=1, ge=1)


class AddInstancesRequest(_Strict):
    template_instance: int = Field(ge=0, description="copy this instance's configuration")
    count: int = Field(ge=1)


class DiffRequest(_Strict):
    job: JobConfiguration


# -- responses ----------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str
    message: str


class TaskEventModel(BaseModel):
    timestamp: float
    status: TaskState
    message: str | None = None


class TaskModel(BaseModel):
    task_id: str
    job_key: str
    instance: int
    status: TaskState
    host: str | None = None
    agent_id: str | None = None
    ports: dict[str, int] = {}
    failure_count: int = 0
    ancestor_id: str | None = None
    created_at: float
    status_at: float
    throttle_until: float | None = None
    message: str | None = None
    pending_reason: str | None = None
    events: list[TaskEventModel] = []


class JobSummary(BaseModel):
    key: str  # cluster/role/environment/name
    instances: int  # active instances
    is_service: bool
    task_counts: dict[str, int]  # active tasks by state
    created_at: float


class JobStatus(BaseModel):
    key: str
    exists: bool  # the job still has active tasks (or was just created)
    active: list[TaskModel]
    terminal: list[TaskModel]


class JobList(BaseModel):
    jobs: list[JobSummary]


class KillResponse(BaseModel):
    key: str
    killed: list[str]  # task ids asked to stop


class RestartModel(BaseModel):
    restart_id: int
    key: str
    state: RestartState
    batch_size: int
    pending: list[int]
    in_flight: list[int]
    done: list[int]
    started_at: float
    updated_at: float
    message: str | None = None


class AddInstancesResponse(BaseModel):
    key: str
    instances: list[int]
    task_ids: list[str]


class CreateJobResponse(BaseModel):
    key: str
    task_ids: list[str]


class JobDiff(BaseModel):
    key: str
    add: list[int]  # instances the configuration adds
    remove: list[int]  # instances it drops
    update: list[int]  # instances whose configuration changes
    unchanged: list[int]
    changes: list[str]  # "field: old -> new" against the job's current configuration


class WhoAmI(BaseModel):
    user: str
    roles: list[str]
    admin: bool


class ClusterInfo(BaseModel):
    name: str
    backend: str
    leader: bool
    version: str


class ProcessRunModel(BaseModel):
    run: int
    state: str
    return_code: int | None = None
    start_time: float | None = None
    stop_time: float | None = None


class ProcessLogsModel(BaseModel):
    name: str
    runs: list[ProcessRunModel]


class TaskLogs(BaseModel):
    """A task's processes and their runs, whose stdout/stderr can be read."""

    task_id: str
    sandbox: str | None = None
    processes: list[ProcessLogsModel]


# -- job updates (issue 5) ------------------------------------------------------------------


class StartUpdateRequest(_Strict):
    job: JobConfiguration
    message: str | None = Field(default=None, description="why; recorded with the first event")


class UpdateActionRequest(_Strict):
    """Pause, resume, abort, rollback or pulse the job's active update."""

    message: str | None = None
    update_id: str | None = Field(default=None,
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


# -- operations: cron, quotas, maintenance, admin (issue 5) ---------------------------------


class CronScheduleRequest(_Strict):
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


class ResourceAmounts(_Strict):
    cpu: float = Field(ge=0)
    ram_mb: float = Field(ge=0)
    disk_mb: float = Field(ge=0)


class QuotaReport(BaseModel):
    role: str
    quota: ResourceAmounts
    production: ResourceAmounts  # consumed by preferred-tier, non-dedicated tasks
    non_production: ResourceAmounts


class HostsRequest(_Strict):
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


class RestoreRequest(_Strict):
    work_dir: str = Field(min_length=1, description="an empty directory on the scheduler host")


class RestoreResponse(BaseModel):
    backup_id: str
    work_dir: str
    database: str


class PruneRequest(_Strict):
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
