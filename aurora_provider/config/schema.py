"""The schema of the ``.aurora`` language: Aurora's pystachio structs, field for field.

Field names and defaults follow Aurora 0.22 (``docs/reference/configuration.md``) so that
existing ``.aurora`` files load unchanged. Pystachio structs are "factories": calling an
instance with keyword arguments returns a copy with those fields replaced, which is how
``.aurora`` files build variants of a template.

This module only declares; loading, binding and validation live beside it.
"""

from __future__ import annotations

from pystachio import (
    Boolean,
    Choice,
    Default,
    Enum,
    Float,
    Integer,
    List,
    Map,
    Required,
    String,
    Struct,
)

# --------------------------------------------------------------------------------------
# Thermos level: what the executor runs.
# --------------------------------------------------------------------------------------

MiB = 1024 * 1024

LoggerDestination = Enum("file", "console", "both", "none")
LoggerMode = Enum("standard", "rotate")


class RotatePolicy(Struct):  # type: ignore[misc]
    log_size = Default(Integer, 100 * MiB)
    backups = Default(Integer, 5)


class Logger(Struct):  # type: ignore[misc]
    destination = Default(LoggerDestination, "file")
    mode = Default(LoggerMode, "standard")
    rotate = RotatePolicy


class Resources(Struct):  # type: ignore[misc]
    cpu = Required(Float)
    ram = Required(Integer)
    disk = Required(Integer)
    gpu = Default(Integer, 0)


class Constraint(Struct):  # type: ignore[misc]
    order = List(String)


class Process(Struct):  # type: ignore[misc]
    cmdline = Required(String)
    name = Required(String)
    # Kept for compatibility: Thermos never enforced per-process resources.
    resources = Resources
    max_failures = Default(Integer, 1)  # 0 means retry forever (capped by the runner)
    daemon = Default(Boolean, False)  # rerun after a successful exit
    ephemeral = Default(Boolean, False)  # not waited for when deciding completion
    min_duration = Default(Integer, 5)  # seconds between the end of a run and the next
    final = Default(Boolean, False)  # runs in the FINALIZING stage
    logger = Default(Logger, Logger())


class Task(Struct):  # type: ignore[misc]
    name = Default(String, "{{processes[0].name}}")
    processes = List(Process)
    constraints = Default(List(Constraint), [])
    resources = Resources
    max_failures = Default(Integer, 1)  # failed processes that fail the task
    max_concurrency = Default(Integer, 0)  # 0 means unlimited
    finalization_wait = Default(Integer, 30)  # seconds for CLEANING+FINALIZING
    user = String


class ThermosContext(Struct):  # type: ignore[misc]
    """The ``{{thermos.*}}`` namespace, bound by the executor at launch."""

    ports = Map(String, Integer)
    task_id = String
    user = String
    xcom = String  # the file a process may write the task's JSON result to


# --------------------------------------------------------------------------------------
# Aurora level: what the scheduler keeps.
# --------------------------------------------------------------------------------------


class MesosContext(Struct):  # type: ignore[misc]
    """The ``{{mesos.*}}`` namespace, bound per instance at launch."""

    instance = Required(Integer)
    hostname = Required(String)


class QueueUpdateStrategy(Struct):  # type: ignore[misc]
    batch_size = Default(Integer, 1)


class BatchUpdateStrategy(Struct):  # type: ignore[misc]
    batch_size = Default(Integer, 1)
    autopause_after_batch = Default(Boolean, False)


class VariableBatchUpdateStrategy(Struct):  # type: ignore[misc]
    batch_sizes = Required(List(Integer))
    autopause_after_batch = Default(Boolean, False)


class UpdateConfig(Struct):  # type: ignore[misc]
    batch_size = Default(Integer, 1)
    watch_secs = Default(Integer, 45)
    max_per_shard_failures = Default(Integer, 0)
    max_total_failures = Default(Integer, 0)
    rollback_on_failure = Default(Boolean, True)
    wait_for_batch_completion = Default(Boolean, False)
    pulse_interval_secs = Integer
    sla_aware = Default(Boolean, False)
    update_strategy = Choice(
        [QueueUpdateStrategy, BatchUpdateStrategy, VariableBatchUpdateStrategy]
    )


class HttpHealthChecker(Struct):  # type: ignore[misc]
    endpoint = Default(String, "/health")
    expected_response = Default(String, "ok")  # compared case-insensitively; "" ignores the body
    expected_response_code = Default(Integer, 0)  # 0 ignores the status code


class ShellHealthChecker(Struct):  # type: ignore[misc]
    shell_command = Required(String)


class HealthCheckerConfig(Struct):  # type: ignore[misc]
    http = HttpHealthChecker
    shell = ShellHealthChecker


DefaultHealthChecker = HealthCheckerConfig(http=HttpHealthChecker())


class HealthCheckConfig(Struct):  # type: ignore[misc]
    health_checker = Default(HealthCheckerConfig, DefaultHealthChecker)
    initial_interval_secs = Default(Float, 15.0)
    interval_secs = Default(Float, 10.0)
    max_consecutive_failures = Default(Integer, 0)
    min_consecutive_successes = Default(Integer, 1)
    timeout_secs = Default(Float, 1.0)


class HttpLifecycleConfig(Struct):  # type: ignore[misc]
    port = Default(String, "health")  # the named port the endpoints are POSTed on
    graceful_shutdown_endpoint = Default(String, "/quitquitquit")
    shutdown_endpoint = Default(String, "/abortabortabort")
    graceful_shutdown_wait_secs = Default(Integer, 5)
    shutdown_wait_secs = Default(Integer, 5)


class LifecycleConfig(Struct):  # type: ignore[misc]
    http = HttpLifecycleConfig


DisableLifecycle = LifecycleConfig()
DefaultLifecycleConfig = LifecycleConfig(http=HttpLifecycleConfig())


class Announcer(Struct):  # type: ignore[misc]
    primary_port = Default(String, "http")
    # name -> another port's name (an alias) or a number (a static port).
    portmap = Default(Map(String, String), {"aurora": "{{primary_port}}"})
    zk_path = String


class Parameter(Struct):  # type: ignore[misc]
    name = Required(String)
    value = Required(String)


class Docker(Struct):  # type: ignore[misc]
    image = Required(String)
    parameters = Default(List(Parameter), [])


class AppcImage(Struct):  # type: ignore[misc]
    name = Required(String)
    image_id = Required(String)


class DockerImage(Struct):  # type: ignore[misc]
    name = Required(String)
    tag = Required(String)


VolumeMode = Enum("RO", "RW")
Mode = VolumeMode  # the name Aurora's schema gave it


class Volume(Struct):  # type: ignore[misc]
    container_path = Required(String)
    host_path = Required(String)
    mode = Required(VolumeMode)


class Mesos(Struct):  # type: ignore[misc]
    image = Choice([AppcImage, DockerImage])
    volumes = Default(List(Volume), [])


class Container(Struct):  # type: ignore[misc]
    """Deprecated in Aurora in favour of ``container=Docker(...)``; still accepted."""

    docker = Docker


class PartitionPolicy(Struct):  # type: ignore[misc]
    reschedule = Default(Boolean, True)
    delay_secs = Default(Integer, 0)


class CountSlaPolicy(Struct):  # type: ignore[misc]
    count = Required(Integer)
    duration_secs = Required(Integer)


class PercentageSlaPolicy(Struct):  # type: ignore[misc]
    percentage = Required(Float)
    duration_secs = Required(Integer)


class CoordinatorSlaPolicy(Struct):  # type: ignore[misc]
    coordinator_url = Required(String)
    status_key = Default(String, "drain")


class Metadata(Struct):  # type: ignore[misc]
    key = Required(String)
    value = Required(String)


class ExecutorConfig(Struct):  # type: ignore[misc]
    name = Default(String, "AuroraExecutor")
    data = Default(String, "")


class MesosTaskInstance(Struct):  # type: ignore[misc]
    """What the executor is handed for one instance (the job's task plus its context)."""

    task = Required(Task)
    instance = Required(Integer)
    role = Required(String)
    announce = Announcer
    environment = Required(String)
    health_check_config = Default(HealthCheckConfig, HealthCheckConfig())
    lifecycle = LifecycleConfig


class MesosJob(Struct):  # type: ignore[misc]
    name = Default(String, "{{task.name}}")
    role = Required(String)
    contact = String
    cluster = Required(String)
    environment = Required(String)
    instances = Default(Integer, 1)
    task = Required(Task)
    announce = Announcer
    tier = String

    cron_schedule = String
    cron_collision_policy = Default(String, "KILL_EXISTING")

    update_config = Default(UpdateConfig, UpdateConfig())

    constraints = Map(String, String)
    metadata = Default(List(Metadata), [])
    service = Default(Boolean, False)
    max_task_failures = Default(Integer, 1)  # -1 means retry forever
    production = Default(Boolean, False)  # deprecated: use tier='preferred'
    priority = Default(Integer, 0)
    health_check_config = Default(HealthCheckConfig, HealthCheckConfig())
    lifecycle = Default(LifecycleConfig, DefaultLifecycleConfig)
    task_links = Map(String, String)  # accepted and ignored, as in Aurora
    executor_config = Default(ExecutorConfig, ExecutorConfig())
    enable_hooks = Default(Boolean, False)

    partition_policy = PartitionPolicy
    sla_policy = Choice([CoordinatorSlaPolicy, CountSlaPolicy, PercentageSlaPolicy])
    container = Choice([Container, Docker, Mesos])


Job = MesosJob
Service = Job(service=True)

# What a .aurora file sees (with pystachio's names and the helpers): every struct, Enum and
# constant above.
__all__ = [
    "Announcer",
    "AppcImage",
    "BatchUpdateStrategy",
    "Constraint",
    "Container",
    "CoordinatorSlaPolicy",
    "CountSlaPolicy",
    "DefaultHealthChecker",
    "DefaultLifecycleConfig",
    "DisableLifecycle",
    "Docker",
    "DockerImage",
    "ExecutorConfig",
    "HealthCheckConfig",
    "HealthCheckerConfig",
    "HttpHealthChecker",
    "HttpLifecycleConfig",
    "Job",
    "LifecycleConfig",
    "Logger",
    "LoggerDestination",
    "LoggerMode",
    "Mesos",
    "MesosContext",
    "MesosJob",
    "MesosTaskInstance",
    "Metadata",
    "MiB",
    "Mode",
    "Parameter",
    "PartitionPolicy",
    "PercentageSlaPolicy",
    "Process",
    "QueueUpdateStrategy",
    "Resources",
    "RotatePolicy",
    "Service",
    "ShellHealthChecker",
    "Task",
    "ThermosContext",
    "UpdateConfig",
    "VariableBatchUpdateStrategy",
    "Volume",
    "VolumeMode",
]
