"""The ``.aurora`` configuration language: schema, loading, binding, validation, wire form."""

from __future__ import annotations

from .binding import bind_task_instance, parse_bindings, required_ports, unbound_refs
from .errors import (
    BindingError,
    ConfigError,
    ConfigExecutionError,
    ConfigSyntaxError,
    IncludeError,
    JobKeyError,
    ValidationError,
    WireFormatError,
)
from .keys import JobKey
from .loader import AuroraConfig, load, load_json, load_source
from .wire import job_from_executor_data, job_from_wire, job_key, job_to_wire

__all__ = [
    "AuroraConfig",
    "BindingError",
    "ConfigError",
    "ConfigExecutionError",
    "ConfigSyntaxError",
    "IncludeError",
    "JobKey",
    "JobKeyError",
    "ValidationError",
    "WireFormatError",
    "bind_task_instance",
    "job_from_executor_data",
    "job_from_wire",
    "job_key",
    "job_to_wire",
    "load",
    "load_json",
    "load_source",
    "parse_bindings",
    "required_ports",
    "unbound_refs",
]
