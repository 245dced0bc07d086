"""Custom executors (Aurora's ``-custom_executor_config``): other executors a job may name in
``ExecutorConfig(name=...)``, each launched as its configured ``ExecutorInfo`` on Mesos.

The file is Aurora's JSON array. Each entry holds ``executor`` (``name``, ``command`` with
the v1 ``CommandInfo`` fields ``value``, ``arguments``, ``shell`` and ``uris``, and the
per-task overhead as ``resources``: ``cpus`` and ``mem`` scalars), the ``task_prefix`` the
executor id starts with, and optional ``volume_mounts`` for the executor's container.
Everything is checked when the file is read, so a launch never finds a bad entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurora_provider.framework.errors import SchedulerError, json_file

OUR_EXECUTOR = "AuroraExecutor"  # the name every job of our own executor carries

Json = dict[str, Any]


@dataclass(frozen=True)
class CustomExecutor:
    name: str
    command: Mapping[str, Any]  # a v1 CommandInfo, as JSON
    resources: Mapping[str, float]  # Mesos resource name (cpus, mem) -> amount per task
    task_prefix: str  # the executor id is this prefix and the task id (as Aurora)
    volume_mounts: Sequence[Mapping[str, str]]  # v1 Volumes: host_path, container_path, mode

    @property
    def cpu(self) -> float:
        return self.resources.get("cpus", 0.0)

    @property
    def ram_mb(self) -> float:
        return self.resources.get("mem", 0.0)


class _Bad(ValueError):
    """One problem of the file: ``path`` names the entry and field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


def load_custom_executors(path: Path) -> dict[str, CustomExecutor]:
    """``--custom-executor-config FILE``; SchedulerError names the file and the field."""
    document = json_file("--custom-executor-config", path)
    try:
        return executors_from_json(document)
    except _Bad as e:
        raise SchedulerError(f"--custom-executor-config {path}: {e}") from e


def executors_from_json(document: Any) -> dict[str, CustomExecutor]:
    if not isinstance(document, list) or not document:
        raise _Bad("the file", "must be a JSON array of at least one executor entry")
    found: dict[str, CustomExecutor] = {}
    for index, entry in enumerate(document):
        executor = _entry(entry, f"[{index}]")
        if executor.name in found:
            raise _Bad(f"[{index}].executor.name", f"{executor.name!r} is configured twice")
        found[executor.name] = executor
    return found


def _object(value: Any, path: str, allowed: Sequence[str]) -> Json:
    if not isinstance(value, dict):
        raise _Bad(path, f"must be an object, not {json.dumps(value)}")
    for key in value:
        if key not in allowed:
            raise _Bad(f"{path}.{key}", f"unknown field (expected one of {', '.join(allowed)})")
    return value


def _text(value: Any, path: str, *, empty: bool = False) -> str:
    if value is None:
        raise _Bad(path, "missing")
    if not isinstance(value, str) or (not empty and not value):
        raise _Bad(path, f"must be a non-empty string, not {json.dumps(value)}")
    return value


def _flag(value: Any, path: str) -> bool:
    # Aurora's own sample writes "shell": "false"; its JSON reader took both forms.
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise _Bad(path, f"must be true or false, not {json.dumps(value)}")


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(path, f"must be a list, not {json.dumps(value)}")
    return value


def _entry(entry: Any, path: str) -> CustomExecutor:
    entry = _object(entry, path, ("executor", "task_prefix", "volume_mounts"))
    executor = _object(_present(entry, "executor", path), f"{path}.executor",
                       ("name", "command", "resources"))
    name = _text(executor.get("name"), f"{path}.executor.name")
    if name == OUR_EXECUTOR:
        raise _Bad(f"{path}.executor.name", f"{name!r} is this scheduler's own executor; "
                   "a custom executor needs a name of its own")
    prefix = _text(entry.get("task_prefix"), f"{path}.task_prefix", empty=True)
    if "/" in prefix or any(c.isspace() or not c.isprintable() for c in prefix):
        raise _Bad(f"{path}.task_prefix", f"{prefix!r} cannot start a Mesos executor id "
                   "(no '/', spaces or control characters)")
    return CustomExecutor(
        name=name,
        command=_command(_present(executor, "command", f"{path}.executor"),
                         f"{path}.executor.command"),
        resources=_resources(_present(executor, "resources", f"{path}.executor"),
                             f"{path}.executor.resources"),
        task_prefix=prefix,
        volume_mounts=tuple(_volume(v, f"{path}.volume_mounts[{i}]") for i, v in
                            enumerate(_list(entry.get("volume_mounts", []),
                                            f"{path}.volume_mounts"))))


def _present(value: Json, key: str, path: str) -> Any:
    if key not in value or value[key] is None:
        raise _Bad(f"{path}.{key}", "missing")
    return value[key]


def _command(value: Any, path: str) -> Json:
    command = _object(value, path, ("value", "arguments", "shell", "uris"))
    out: Json = {"value": _text(command.get("value"), f"{path}.value")}
    if "arguments" in command:
        out["arguments"] = [_text(a, f"{path}.arguments[{i}]", empty=True)
                            for i, a in enumerate(_list(command["arguments"],
                                                        f"{path}.arguments"))]
    if "shell" in command:
        out["shell"] = _flag(command["shell"], f"{path}.shell")
    if "uris" in command:
        out["uris"] = [_uri(u, f"{path}.uris[{i}]")
                       for i, u in enumerate(_list(command["uris"], f"{path}.uris"))]
    return out


_URI_FLAGS = ("executable", "extract", "cache")


def _uri(value: Any, path: str) -> Json:
    uri = _object(value, path, ("value", *_URI_FLAGS, "output_file"))
    out: Json = {"value": _text(uri.get("value"), f"{path}.value")}
    for flag in _URI_FLAGS:
        if flag in uri:
            out[flag] = _flag(uri[flag], f"{path}.{flag}")
    if "output_file" in uri:
        out["output_file"] = _text(uri["output_file"], f"{path}.output_file")
    return out


_RESOURCES = ("cpus", "mem")


def _resources(value: Any, path: str) -> dict[str, float]:
    amounts: dict[str, float] = {}
    for index, item in enumerate(_list(value, path)):
        where = f"{path}[{index}]"
        resource = _object(item, where, ("name", "type", "scalar"))
        name = _one_of(resource.get("name"), f"{where}.name", _RESOURCES)
        if name in amounts:
            raise _Bad(f"{where}.name", f"{name!r} is given twice")
        _one_of(resource.get("type"), f"{where}.type", ("SCALAR",))
        scalar = _object(_present(resource, "scalar", where), f"{where}.scalar", ("value",))
        amount = _present(scalar, "value", f"{where}.scalar")
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
            raise _Bad(f"{where}.scalar.value", f"must be a number above 0, not "
                       f"{json.dumps(amount)}")
        amounts[name] = float(amount)
    return amounts


def _one_of(value: Any, path: str, allowed: Sequence[str]) -> str:
    if value is None:
        raise _Bad(path, "missing")
    if value not in allowed:
        raise _Bad(path, f"{json.dumps(value)} is not one of {', '.join(allowed)}")
    return str(value)


def _volume(value: Any, path: str) -> dict[str, str]:
    volume = _object(value, path, ("host_path", "container_path", "mode"))
    return {"container_path": _text(volume.get("container_path"), f"{path}.container_path"),
            "host_path": _text(volume.get("host_path"), f"{path}.host_path"),
            "mode": _one_of(volume.get("mode"), f"{path}.mode", ("RO", "RW"))}


def executor_name(wire: Mapping[str, Any]) -> str:
    """The executor a wire-form job names (ours when it names none)."""
    executor = (wire.get("task") or {}).get("executor_config") or {}
    return str(executor.get("name") or OUR_EXECUTOR)


Executors = Mapping[str, CustomExecutor]  # by name
