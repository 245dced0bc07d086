"""Wire models of jobs and tasks: the job configuration (the wire form of
``aurora_provider.config.job_to_wire``; fields the scheduler does not read are kept,
``extra="allow"``, so it round-trips), the job requests and the job, task and cluster answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from aurora_provider.api.models.base import KeyPart, Open, Strict
from aurora_provider.states.restart import RestartState
from aurora_provider.states.task import TaskState


class JobKeyModel(Strict):
    cluster: KeyPart
    role: KeyPart
    environment: KeyPart
    name: KeyPart

    def path(self) -> str:
        """``role/environment/name``: the job's address on one scheduler."""
        return f"{self.role}/{self.environment}/{self.name}"

    def __str__(self) -> str:
        return f"{self.cluster}/{self.role}/{self.environment}/{self.name}"


class ResourcesModel(Open):
    cpu: float = Field(gt=0)
    ram_mb: int = Field(gt=0)
    disk_mb: int = Field(gt=0)
    gpu: int = Field(default=0, ge=0)


class ValueConstraintModel(Strict):
    name: str = Field(min_length=1)
    values: list[str]
    negated: bool = False


class LimitConstraintModel(Strict):
    name: str = Field(min_length=1)
    limit: int = Field(ge=1)


class ExecutorConfigModel(Open):
    name: str = "AuroraExecutor"
    data: str = Field(min_length=2, description="JSON of the whole job, read by the executor")


class TaskConfigModel(Open):
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


class JobConfiguration(Open):
    """A job in wire form (``aurora_provider.config.job_to_wire``)."""

    key: JobKeyModel
    instances: int = Field(ge=1)
    cron_schedule: str | None = None
    cron_collision_policy: str = "KILL_EXISTING"
    task: TaskConfigModel
    update_config: dict[str, Any] = {}
    health_check_config: dict[str, Any] = {}


# -- requests ---------------------------------------------------------------------------


class CreateJobRequest(Strict):
    job: JobConfiguration


class KillRequest(Strict):
    instances: list[Annotated[int, Field(ge=0)]] | None = Field(
        default=None, description="instances to kill; null kills them all")
    message: str | None = None


class RestartRequest(Strict):
    instances: list[Annotated[int, Field(ge=0)]] | None = None
    batch_size: int = Field(default=1, ge=1)


class AddInstancesRequest(Strict):
    template_instance: int = Field(ge=0, description="copy this instance's configuration")
    count: int = Field(ge=1)


class DiffRequest(Strict):
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
    # The agents' observers: a URL template with ``{host}`` (the task's host); None when
    # this cluster has no observer.
    observer_url: str | None = None


class JobConfigVersion(BaseModel):
    """One configuration a job has had, first seen at ``created_at``."""

    config_id: int
    created_at: float
    job: JobConfiguration


class JobConfigHistory(BaseModel):
    key: str  # cluster/role/environment/name
    configs: list[JobConfigVersion]  # newest first


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
