"""The job schema as plain data: field kinds and defaults, for binding without pystachio.

It mirrors ``aurora_provider/config/schema.py`` struct for struct (the class names are
pystachio's), so that ``wire_binding`` fills in the defaults a job's JSON leaves out and
refuses the attributes the schema does not know, as loading the job with pystachio would.
``tests/executor/test_wire_binding.py`` compares this table with the schema itself, so the
two cannot drift apart.

A kind is ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``("enum", values)``,
``("struct", name)``, ``("list", kind)``, ``("map", kind)`` (string keys) or ``"any"``
(a choice of structs: its content is the scheduler's, and is only searched for template
references). A default of a struct kind is the JSON the struct is built from (its own fields'
defaults then apply); ``ABSENT`` means no default.
"""

from __future__ import annotations

from typing import Any

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()

Kind = Any  # str | tuple[str, Any]
MiB = 1024 * 1024

S, INT, F, B, ANY = "str", "int", "float", "bool", "any"


def struct(name: str) -> Kind:
    return ("struct", name)


def list_of(kind: Kind) -> Kind:
    return ("list", kind)


def map_of(kind: Kind) -> Kind:
    return ("map", kind)


LOGGER_DESTINATIONS = ("file", "console", "both", "none")
LOGGER_MODES = ("standard", "rotate")

# struct name -> field -> (kind, default)
STRUCTS: dict[str, dict[str, tuple[Kind, Any]]] = {
    "MesosJob": {
        "name": (S, "{{task.name}}"),
        "role": (S, ABSENT),
        "contact": (S, ABSENT),
        "cluster": (S, ABSENT),
        "environment": (S, ABSENT),
        "instances": (INT, 1),
        "task": (struct("Task"), ABSENT),
        "announce": (struct("Announcer"), ABSENT),
        "tier": (S, ABSENT),
        "cron_schedule": (S, ABSENT),
        "cron_collision_policy": (S, "KILL_EXISTING"),
        "update_config": (struct("UpdateConfig"), {}),
        "constraints": (map_of(S), ABSENT),
        "metadata": (list_of(struct("Metadata")), []),
        "service": (B, False),
        "max_task_failures": (INT, 1),
        "production": (B, False),
        "priority": (INT, 0),
        "health_check_config": (struct("HealthCheckConfig"), {}),
        "lifecycle": (struct("LifecycleConfig"), {"http": {}}),
        "task_links": (map_of(S), ABSENT),
        "executor_config": (struct("ExecutorConfig"), {}),
        "enable_hooks": (B, False),
        "partition_policy": (struct("PartitionPolicy"), ABSENT),
        "sla_policy": (ANY, ABSENT),
        "container": (ANY, ABSENT),
    },
    "Task": {
        "name": (S, "{{processes[0].name}}"),
        "processes": (list_of(struct("Process")), ABSENT),
        "constraints": (list_of(struct("Constraint")), []),
        "resources": (struct("Resources"), ABSENT),
        "max_failures": (INT, 1),
        "max_concurrency": (INT, 0),
        "finalization_wait": (INT, 30),
        "user": (S, ABSENT),
    },
    "Process": {
        "cmdline": (S, ABSENT),
        "name": (S, ABSENT),
        "resources": (struct("Resources"), ABSENT),
        "max_failures": (INT, 1),
        "daemon": (B, False),
        "ephemeral": (B, False),
        "min_duration": (INT, 5),
        "final": (B, False),
        "logger": (struct("Logger"), {}),
    },
    "Resources": {
        "cpu": (F, ABSENT),
        "ram": (INT, ABSENT),
        "disk": (INT, ABSENT),
        "gpu": (INT, 0),
    },
    "Constraint": {"order": (list_of(S), ABSENT)},
    "Logger": {
        "destination": (("enum", LOGGER_DESTINATIONS), "file"),
        "mode": (("enum", LOGGER_MODES), "standard"),
        "rotate": (struct("RotatePolicy"), ABSENT),
    },
    "RotatePolicy": {"log_size": (INT, 100 * MiB), "backups": (INT, 5)},
    "HealthCheckConfig": {
        "health_checker": (struct("HealthCheckerConfig"), {"http": {}}),
        "initial_interval_secs": (F, 15.0),
        "interval_secs": (F, 10.0),
        "max_consecutive_failures": (INT, 0),
        "min_consecutive_successes": (INT, 1),
        "timeout_secs": (F, 1.0),
    },
    "HealthCheckerConfig": {
        "http": (struct("HttpHealthChecker"), ABSENT),
        "shell": (struct("ShellHealthChecker"), ABSENT),
    },
    "HttpHealthChecker": {
        "endpoint": (S, "/health"),
        "expected_response": (S, "ok"),
        "expected_response_code": (INT, 0),
    },
    "ShellHealthChecker": {"shell_command": (S, ABSENT)},
    "LifecycleConfig": {"http": (struct("HttpLifecycleConfig"), ABSENT)},
    "HttpLifecycleConfig": {
        "port": (S, "health"),
        "graceful_shutdown_endpoint": (S, "/quitquitquit"),
        "shutdown_endpoint": (S, "/abortabortabort"),
        "graceful_shutdown_wait_secs": (INT, 5),
        "shutdown_wait_secs": (INT, 5),
    },
    "Announcer": {
        "primary_port": (S, "http"),
        "portmap": (map_of(S), {"aurora": "{{primary_port}}"}),
        "zk_path": (S, ABSENT),
    },
    "UpdateConfig": {
        "batch_size": (INT, 1),
        "watch_secs": (INT, 45),
        "max_per_shard_failures": (INT, 0),
        "max_total_failures": (INT, 0),
        "rollback_on_failure": (B, True),
        "wait_for_batch_completion": (B, False),
        "pulse_interval_secs": (INT, ABSENT),
        "sla_aware": (B, False),
        "update_strategy": (ANY, ABSENT),
    },
    "Metadata": {"key": (S, ABSENT), "value": (S, ABSENT)},
    "ExecutorConfig": {"name": (S, "AuroraExecutor"), "data": (S, "")},
    "PartitionPolicy": {"reschedule": (B, True), "delay_secs": (INT, 0)},
}
