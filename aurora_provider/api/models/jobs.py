"""Wire models of jobs and tasks: the job configuration (the wire form of
``aurora_provider.config.job_to_wire``; fields the scheduler does not read are kept,
``extra="allow"``, so it round-trips), the job requests and the job, task and cluster answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.api.models.base import (
    MAX_MESSAGE,
    MAX_METADATA,
    Instance,
    InstanceCount,
    Int64,
    KeyPart,
    Message,
    Name,
    Open,
    Strict,
)
from aurora_provider.config.errors import ValidationError
from aurora_provider.config.validation import (
    MAX_CPU,
    MAX_INSTANCES,
    MAX_MB,
    MAX_NUMBER,
    validate_wire,
)
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
    cpu: float = Field(gt=0, le=MAX_CPU)
    ram_mb: int = Field(gt=0, le=MAX_MB)
    disk_mb: int = Field(gt=0, le=MAX_MB)
    gpu: int = Field(default=0, ge=0, le=MAX_NUMBER)


class ValueConstraintModel(Strict):
    name: Name
    values: list[Annotated[str, Field(max_length=MAX_MESSAGE)]] = Field(max_length=MAX_METADATA)
    negated: bool = False


class LimitConstraintModel(Strict):
    name: Name
    limit: int = Field(ge=1, le=MAX_INSTANCES)


class MetadataModel(Open):
    key: Name
    value: Message


class ExecutorConfigModel(Open):
    name: str = "AuroraExecutor"
    data: str = Field(description="our executor's: JSON of the whole job; a custom "
                      "executor's: its own data, as the user's ExecutorConfig(data=...)")


class TaskConfigModel(Open):
    is_service: bool = False
    max_task_failures: int = Field(default=1, ge=-1, le=MAX_NUMBER)
    priority: Int64 = 0
    production: bool = False
    tier: Name | None = None
    contact: Message | None = None
    resources: ResourcesModel
    requested_ports: list[Name] = Field(default=[], max_length=MAX_METADATA)
    constraints: list[LimitConstraintModel | ValueConstraintModel] = Field(
        default=[], max_length=MAX_METADATA)
    metadata: list[MetadataModel] = Field(default=[], max_length=MAX_METADATA)
    container: dict[str, Any] | None = None
    executor_config: ExecutorConfigModel


class JobConfiguration(Open):
    """A job in wire form (``aurora_provider.config.job_to_wire``)."""

    key: JobKeyModel
    instances: InstanceCount
    cron_schedule: Annotated[str, Field(max_length=MAX_MESSAGE)] | None = None
    cron_collision_policy: Name = "KILL_EXISTING"
    task: TaskConfigModel
    update_config: dict[str, Any] = {}
    health_check_config: dict[str, Any] = {}

    def submitted(self) -> dict[str, Any]:
        """This form as JSON types, once it passes the ``.aurora`` loader's rules
        (``aurora_provider.config.validation.validate_wire``): what the scheduler takes
        from a request. Raises ``InvalidRequest`` with the rule's one line."""
        try:
            validate_wire(self.model_dump(mode="json", exclude_unset=True))
        except ValidationError as e:
            raise InvalidRequest(str(e)) from e
        return self.model_dump(mode="json")


# -- requests ---------------------------------------------------------------------------


class CreateJobRequest(Strict):
    job: JobConfiguration


class KillRequest(Strict):
    instances: list[Instance] | None = Field(
        default=None, max_length=MAX_INSTANCES,
        description="instances to kill; null kills them all")
    message: Message | None = None


class RestartRequest(Strict):
    instances: list[Instance] | None = Field(default=None, max_length=MAX_INSTANCES)
    batch_size: InstanceCount = 1
    watch_secs: float = Field(
        default=0, ge=0, le=MAX_NUMBER,
        description="an instance is restarted once its replacement is RUNNING this long")
    max_per_instance_failures: int = Field(
        default=0, ge=-1, le=MAX_NUMBER,
        description="failed replacements an instance may have (-1: no limit)")
    max_total_failures: int = Field(
        default=0, ge=0, le=MAX_NUMBER,
        description="failed instances the restart may have before it is FAILED")


class AddInstancesRequest(Strict):
    template_instance: Instance = Field(description="copy this instance's configuration")
    count: InstanceCount


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
    watch_secs: float = 0
    max_per_instance_failures: int = 0
    max_total_failures: int = 0
    failed: list[int] = []  # instances over their failure limit
    failures: dict[str, int] = {}  # instance -> its failed replacements


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
    """One configuration a job has had, first seen at ``created_at``. A configuration stored
    by an earlier scheduler that today's rules refuse (an infinite cpu...) has ``job`` None
    and ``problem`` naming what is wrong with it."""

    config_id: int
    created_at: float
    job: JobConfiguration | None
    problem: str | None = None


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


XCOM_MAX_BYTES = 2**20  # a task's result is a small JSON value, as an XCom should be


class TaskXcom(BaseModel):
    """The JSON result a task's processes wrote to ``$AURORA_XCOM_FILE`` (``{{thermos.xcom}}``,
    ``.aurora/xcom.json`` in its sandbox), as raw text; ``present`` False when none was
    written. A file over ``XCOM_MAX_BYTES`` is refused (413), never sent."""

    task_id: str
    present: bool
    size: int = 0
    content: str | None = None


class LogChunk(BaseModel):
    """A piece of one run's stdout or stderr, read from a byte offset.

    ``text`` is the bytes from ``offset`` to ``next`` decoded as UTF-8 (a character cut by
    the end of the read is left for the next one); ``size`` is the file's size when read.
    An ``offset`` beyond the end reads nothing: ``next`` is ``offset``, and ``size`` shows it.
    """

    offset: int
    next: int
    size: int
    text: str


# -- status at any size: a job's summary and its tasks a page at a time ----------------------


class JobConfigSummary(BaseModel):
    """What a job's current configuration asks for, without its executor data."""

    instances: int  # as configured
    is_service: bool
    production: bool
    tier: str | None = None
    cpu: float
    ram_mb: float
    disk_mb: float
    cron_schedule: str | None = None


class JobStatusSummary(BaseModel):
    """A job's tasks counted by state (Aurora's ``getJobSummary``): the same cost for ten
    tasks as for ten thousand."""

    key: str  # cluster/role/environment/name
    exists: bool  # as in JobStatus
    instances: int  # instances with an active task
    active: dict[str, int]  # active tasks by state
    terminal: dict[str, int]  # terminal tasks by state (the history kept)
    config: JobConfigSummary | None = None  # None once the job is gone


MAX_TASK_PAGE = 1000  # the most tasks one page of /tasks holds


class TaskPage(BaseModel):
    """Some of a job's tasks: active ones first (by instance), then terminal ones, newest
    first. ``next_cursor`` asks for the next page; None on the last one."""

    key: str
    tasks: list[TaskModel]
    next_cursor: str | None = None
