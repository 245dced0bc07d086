"""The records of a checkpoint stream, typed, and the one place they become JSON and back.

A stream is a header, then what happened, in order::

    HeaderRecord       once, first: the task, its sandbox, ports, whether it is health-checked
    RunnerRecord       a runner took control of the task (pid and start time)
    TaskStateRecord    the task changed stage (ACTIVE -> CLEANING -> ...), with a reason
    ProcessRecord      one run of a process changed state (WAITING -> FORKED -> ...)
    HealthRecord       the health checker's verdict changed

On disk a record is a JSON object with its ``type`` (``header``, ``runner``, ``task``,
``process``, ``health``) and its fields; fields left None are not written, so a record
carries only what changed, as the stream always did.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, NamedTuple

from aurora_provider.states.executor_task import ExecutorTaskState
from aurora_provider.states.health import HealthState
from aurora_provider.states.process_run import ProcessState

from ..errors import InvalidRecord


class HeaderRecord(NamedTuple):
    task_id: str
    launch_time: float | None = None
    sandbox: str | None = None
    log_dir: str | None = None
    hostname: str | None = None
    user: str | None = None
    ports: Mapping[str, int] = {}  # shared default: records are never mutated
    job_key: str | None = None
    instance: int | None = None
    health_checked: bool = False


class RunnerRecord(NamedTuple):
    pid: int
    create_time: float | None = None  # with the pid, the runner's identity
    time: float | None = None


class TaskStateRecord(NamedTuple):
    state: ExecutorTaskState
    time: float
    reason: str | None = None


class ProcessRecord(NamedTuple):
    process: str
    run: int
    state: ProcessState
    pid: int | None = None
    create_time: float | None = None
    fork_time: float | None = None
    start_time: float | None = None
    stop_time: float | None = None
    return_code: int | None = None
    reason: str | None = None


class HealthRecord(NamedTuple):
    status: HealthState
    reason: str | None = None
    time: float | None = None


Record = HeaderRecord | RunnerRecord | TaskStateRecord | ProcessRecord | HealthRecord

_BY_KIND: dict[str, type[Record]] = {
    "header": HeaderRecord,
    "runner": RunnerRecord,
    "task": TaskStateRecord,
    "process": ProcessRecord,
    "health": HealthRecord,
}
_KIND_OF = {cls: kind for kind, cls in _BY_KIND.items()}
# The field of each kind that holds a state, and its enum.
_STATE_FIELDS: dict[type[Record], tuple[str, type[enum.Enum]]] = {
    TaskStateRecord: ("state", ExecutorTaskState),
    ProcessRecord: ("state", ProcessState),
    HealthRecord: ("status", HealthState),
}


def kind_of(record: Record) -> str:
    """The record's ``type`` on disk."""
    return _KIND_OF[type(record)]


def to_json(record: Record) -> dict[str, Any]:
    """The record as the stream stores it: its ``type`` and the fields that are not None."""
    raw: dict[str, Any] = {"type": _KIND_OF[type(record)]}
    for name, value in record._asdict().items():
        if value is not None:
            raw[name] = value.value if isinstance(value, enum.Enum) else value
    return raw


def from_json(raw: Mapping[str, Any]) -> Record:
    """The typed record of a stored one; ``InvalidRecord`` when it is not one."""
    kind = raw.get("type")
    cls = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidRecord(f"unknown record type {kind!r}")
    fields = {name: raw[name] for name in cls._fields if name in raw}
    try:
        if cls in _STATE_FIELDS:
            name, states = _STATE_FIELDS[cls]
            if name in fields:
                fields[name] = states(fields[name])
        return cls(**fields)
    except (TypeError, ValueError) as e:
        raise InvalidRecord(f"malformed {kind} record ({e})") from e
