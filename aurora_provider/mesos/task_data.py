"""What Aurora's scheduler puts in a Mesos ``TaskInfo.data`` for its executor.

As Aurora's ``AssignedTask``: the task id, the instance, the host and the named ports the
scheduler assigned from the offer, and the job's wire form (``executor_config.data``, the
whole job as JSON). The executor binds the job's runtime variables from these alone.
Carried as JSON; ``TaskInfo.data`` is bytes, so base64 in the v1 JSON API.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass, field
from typing import Any


class TaskDataError(ValueError):
    """``TaskInfo.data`` is not an assigned task."""


@dataclass(frozen=True)
class AssignedTask:
    task_id: str
    instance: int
    hostname: str
    executor_data: str  # the job's JSON, as in the job's wire form
    ports: dict[str, int] = field(default_factory=dict)
    announcer_ensemble: str | None = None  # ZooKeeper hosts for the task's Announcer
    # The serversets' root in that ZooKeeper (None: the executor's default, ``/aurora``).
    announcer_zk_path_prefix: str | None = None

    def to_json(self) -> bytes:
        return json.dumps({
            "task_id": self.task_id, "instance": self.instance, "hostname": self.hostname,
            "ports": self.ports, "executor_data": self.executor_data,
            "announcer_ensemble": self.announcer_ensemble,
            "announcer_zk_path_prefix": self.announcer_zk_path_prefix,
        }, separators=(",", ":")).encode()

    def to_base64(self) -> str:
        """For ``TaskInfo.data`` in the v1 JSON API: the same object as ``to_json``, with the
        job's JSON first, whose encoding is made once per job configuration (the thousands
        of tasks of a large job share it) and joined to each task's own fields."""
        rest = json.dumps({
            "task_id": self.task_id, "instance": self.instance, "hostname": self.hostname,
            "ports": self.ports, "announcer_ensemble": self.announcer_ensemble,
            "announcer_zk_path_prefix": self.announcer_zk_path_prefix,
        }, separators=(",", ":"))
        return _encoded_head(self.executor_data) + base64.b64encode(rest[1:].encode()).decode()

    @classmethod
    def from_json(cls, data: bytes) -> AssignedTask:
        try:
            raw: Any = json.loads(data)
        except ValueError as e:
            raise TaskDataError(f"task data is not JSON ({e})") from e
        if not isinstance(raw, dict):
            raise TaskDataError("task data is not a JSON object")
        try:
            ports = raw.get("ports") or {}
            if not isinstance(ports, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) for k, v in ports.items()):
                raise TaskDataError("task data: ports must map names to port numbers")
            task = cls(task_id=_str(raw, "task_id"), instance=int(raw["instance"]),
                       hostname=_str(raw, "hostname"), executor_data=_str(raw, "executor_data"),
                       ports=dict(ports),
                       announcer_ensemble=_optional_str(raw, "announcer_ensemble"),
                       announcer_zk_path_prefix=_optional_str(raw, "announcer_zk_path_prefix"))
        except KeyError as e:
            raise TaskDataError(f"task data: {e.args[0]} is missing") from e
        except (TypeError, ValueError) as e:
            raise TaskDataError(f"task data: {e}") from e
        return task

    @classmethod
    def from_base64(cls, data: str) -> AssignedTask:
        try:
            return cls.from_json(base64.b64decode(data, validate=True))
        except binascii.Error as e:
            raise TaskDataError(f"task data is not base64 ({e})") from e


@functools.lru_cache(maxsize=256)
def _encoded_head(executor_data: str) -> str:
    """``{"executor_data":...,`` in base64, padded with JSON whitespace to a multiple of 3
    bytes: base64 of such a prefix, then base64 of the rest, is base64 of the whole."""
    head = ('{"executor_data":' + json.dumps(executor_data, separators=(",", ":")) +
            ",").encode()
    return base64.b64encode(head + b" " * (-len(head) % 3)).decode()


def _str(raw: dict[str, Any], name: str) -> str:
    value = raw[name]
    if not isinstance(value, str) or not value:
        raise TaskDataError(f"task data: {name} must be a non-empty string")
    return value


def _optional_str(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, str):
        raise TaskDataError(f"task data: {name} must be a string")
    return value or None
