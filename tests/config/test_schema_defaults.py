"""Every default of the schema, compared with Aurora's documented defaults.

Reference: docs/reference/configuration.md of apache/aurora (0.22) and the schema files it
describes (thermos/config/schema_base.py, aurora/config/schema/base.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from pystachio import Empty

from aurora_provider.config import schema
from aurora_provider.config.helpers import GB, KB, MB, TB
from aurora_provider.config.schema import (
    Announcer,
    BatchUpdateStrategy,
    CoordinatorSlaPolicy,
    DefaultLifecycleConfig,
    DisableLifecycle,
    Docker,
    HealthCheckConfig,
    HttpHealthChecker,
    HttpLifecycleConfig,
    Job,
    Logger,
    Mesos,
    PartitionPolicy,
    Process,
    QueueUpdateStrategy,
    Resources,
    RotatePolicy,
    Service,
    Task,
    UpdateConfig,
    VariableBatchUpdateStrategy,
)

pytestmark = pytest.mark.unit

DEFAULTS: list[tuple[Any, dict[str, Any]]] = [
    (Process(), {"max_failures": 1, "daemon": False, "ephemeral": False, "min_duration": 5,
                 "final": False}),
    (Logger(), {"destination": "file", "mode": "standard"}),
    (RotatePolicy(), {"log_size": 100 * MB, "backups": 5}),
    (Task(), {"constraints": (), "max_failures": 1, "max_concurrency": 0,
              "finalization_wait": 30}),
    (Resources(), {"gpu": 0}),
    (Job(), {"instances": 1, "cron_collision_policy": "KILL_EXISTING", "service": False,
             "max_task_failures": 1, "production": False, "priority": 0, "enable_hooks": False,
             "metadata": ()}),
    (Service, {"service": True}),
    (UpdateConfig(), {"batch_size": 1, "watch_secs": 45, "max_per_shard_failures": 0,
                      "max_total_failures": 0, "rollback_on_failure": True,
                      "wait_for_batch_completion": False, "sla_aware": False}),
    (QueueUpdateStrategy(), {"batch_size": 1}),
    (BatchUpdateStrategy(), {"batch_size": 1, "autopause_after_batch": False}),
    (VariableBatchUpdateStrategy(), {"autopause_after_batch": False}),
    (HealthCheckConfig(), {"initial_interval_secs": 15.0, "interval_secs": 10.0,
                           "max_consecutive_failures": 0, "min_consecutive_successes": 1,
                           "timeout_secs": 1.0}),
    (HttpHealthChecker(), {"endpoint": "/health", "expected_response": "ok",
                           "expected_response_code": 0}),
    (HttpLifecycleConfig(), {"port": "health", "graceful_shutdown_endpoint": "/quitquitquit",
                             "shutdown_endpoint": "/abortabortabort",
                             "graceful_shutdown_wait_secs": 5, "shutdown_wait_secs": 5}),
    (Announcer(), {"primary_port": "http", "portmap": {"aurora": "http"}}),  # {{primary_port}}
    (Docker(), {"parameters": ()}),
    (Mesos(), {"volumes": ()}),
    (PartitionPolicy(), {"reschedule": True, "delay_secs": 0}),
    (CoordinatorSlaPolicy(), {"status_key": "drain"}),
]


@pytest.mark.parametrize(
    ("obj", "expected"), DEFAULTS, ids=[type(o).__name__ for o, _ in DEFAULTS]
)
def test_defaults_match_aurora(obj: Any, expected: dict[str, Any]) -> None:
    for field, value in expected.items():
        actual = getattr(obj, field)().get()
        if isinstance(value, dict):  # pystachio's frozendict does not compare with a dict
            actual = dict(actual)
        assert actual == value, f"{type(obj).__name__}.{field}"


def test_derived_names_default_to_the_first_process() -> None:
    job = Job(task=Task(processes=[Process(name="web", cmdline="x")]))
    assert job.task().name().get() == "web"
    assert job.name().get() == "web"


def test_announcer_primary_port_is_the_aurora_alias() -> None:
    assert dict(Announcer(primary_port="https").portmap().get()) == {"aurora": "https"}


def test_health_checker_and_lifecycle_defaults() -> None:
    checker = HealthCheckConfig().health_checker()
    assert checker.http() == HttpHealthChecker()
    assert checker.shell() is Empty
    assert Job().lifecycle() == DefaultLifecycleConfig
    assert DisableLifecycle.http() is Empty


REQUIRED: list[tuple[Any, set[str]]] = [
    (Process, {"cmdline", "name"}),
    (Resources, {"cpu", "ram", "disk"}),
    (Job, {"role", "cluster", "environment", "task"}),
    (schema.MesosContext, {"instance", "hostname"}),
    (schema.ShellHealthChecker, {"shell_command"}),
    (Docker, {"image"}),
    (schema.DockerImage, {"name", "tag"}),
    (schema.AppcImage, {"name", "image_id"}),
    (schema.Volume, {"container_path", "host_path", "mode"}),
    (schema.Parameter, {"name", "value"}),
    (schema.Metadata, {"key", "value"}),
    (VariableBatchUpdateStrategy, {"batch_sizes"}),
    (schema.CountSlaPolicy, {"count", "duration_secs"}),
    (schema.PercentageSlaPolicy, {"percentage", "duration_secs"}),
    (CoordinatorSlaPolicy, {"coordinator_url"}),
]


@pytest.mark.parametrize(("struct", "fields"), REQUIRED, ids=[s.__name__ for s, _ in REQUIRED])
def test_required_fields(struct: Any, fields: set[str]) -> None:
    required = {name for name, sig in struct.TYPEMAP.items() if sig.required}
    assert required == fields


def test_units_are_powers_of_1024() -> None:
    assert (KB, MB, GB, TB) == (1024, 1024**2, 1024**3, 1024**4)


def test_schema_exports_every_struct_and_constant() -> None:
    public = {n for n in vars(schema) if n[0].isupper() and not n.startswith("_")}
    pystachio_names = {"Boolean", "Choice", "Default", "Enum", "Float", "Integer", "List", "Map",
                       "Required", "String", "Struct"}
    assert public - pystachio_names == set(schema.__all__)


DSL_NAMES = [
    "Process", "Task", "Resources", "Constraint", "Logger", "RotatePolicy", "Job", "Service",
    "MesosJob", "UpdateConfig", "QueueUpdateStrategy", "BatchUpdateStrategy",
    "VariableBatchUpdateStrategy", "HealthCheckConfig", "HealthCheckerConfig", "HttpHealthChecker",
    "ShellHealthChecker", "LifecycleConfig", "HttpLifecycleConfig", "DefaultLifecycleConfig",
    "DisableLifecycle", "Announcer", "Container", "Docker", "Parameter", "Mesos", "DockerImage",
    "AppcImage", "Volume", "Mode", "PartitionPolicy", "CountSlaPolicy", "PercentageSlaPolicy",
    "CoordinatorSlaPolicy", "Metadata", "MesosContext", "ThermosContext", "order",
    "SequentialTask", "SimpleTask", "Tasks", "combine_tasks", "concat_tasks", "Units", "Processes",
    "Options", "java_options", "python_options", "BYTES", "KB", "MB", "GB", "TB", "Struct",
    "Required", "Default", "String", "Integer", "Float", "Boolean", "List", "Map", "Enum",
    "Choice", "Empty", "include",
]


def test_a_config_file_sees_the_whole_language(tmp_path: Any) -> None:
    from aurora_provider.config import load

    config = tmp_path / "names.aurora"
    config.write_text(
        f"names = [{', '.join(DSL_NAMES)}]\n"
        "jobs = [Job(cluster='c', role='r', environment='test', task=SimpleTask('a', 'true'))]\n"
    )
    assert [str(k) for k in load(config).job_keys()] == ["c/r/test/a"]
