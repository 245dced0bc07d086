"""From the job's JSON (the executor data) to a ``TaskSpec``, without the configuration language.

The scheduler hands the executor the job as JSON, interpolated at submission, so the only
references left in it are the runtime variables Aurora leaves for the executor:
``{{thermos.ports[NAME]}}``, ``{{thermos.task_id}}``, ``{{thermos.user}}``,
``{{thermos.xcom}}``, ``{{mesos.instance}}`` and ``{{mesos.hostname}}``. This module binds
those with the rules of ``aurora_provider.config.binding.bind_task_instance`` (the same port
checks, announcer aliases and errors) and builds the spec as ``binding.spec_from_bound_job``
does, filling in the schema's defaults (``wire_schema``) for what the JSON leaves out. It
never imports pystachio: that import alone costs the runner 40-60 ms of start-up.

A job that holds any other reference (hand-written JSON, or a value that is itself a
template) raises ``NeedsConfigLanguage``: only pystachio's scoping says what such a
reference means, so the caller binds that job with the language instead, and both ways
always agree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidTask
from . import mustache
from .mustache import Ref
from .paths import xcom_path
from .spec import (
    AnnouncerSpec,
    HealthSpec,
    LifecycleSpec,
    LoggerSpec,
    ProcessSpec,
    ResourcesSpec,
    TaskSpec,
)
from .wire_schema import ABSENT, STRUCTS, Kind


class WireDataError(InvalidTask):
    """The executor data is not a job (not JSON, an unknown attribute, a wrong type...)."""


class NeedsConfigLanguage(Exception):
    """The job holds a reference only the configuration language can resolve."""


_PORTS = ((".", "thermos"), (".", "ports"))
_SCALARS: dict[Ref, str] = {
    (("." , "thermos"), (".", "task_id")): "task_id",
    ((".", "thermos"), (".", "user")): "user",
    ((".", "thermos"), (".", "xcom")): "xcom",
    ((".", "mesos"), (".", "instance")): "instance",
    ((".", "mesos"), (".", "hostname")): "hostname",
}  # fmt: skip


def spec_from_wire(
    data: str | bytes,
    *,
    task_id: str,
    instance: int,
    ports: Mapping[str, int],
    hostname: str | None = None,
    sandbox: Path | None = None,
) -> TaskSpec:
    """The task one instance of the job in ``data`` runs, its runtime variables bound
    (``{{thermos.xcom}}`` relative to the sandbox when ``sandbox`` is None)."""
    try:
        raw = json.loads(data)
    except ValueError as e:
        raise WireDataError(f"executor data is not a job: {e}") from e
    if not isinstance(raw, dict):
        raise WireDataError(f"executor data is not a job: a {type(raw).__name__}, not an object")
    job = _fill(raw, ("struct", "MesosJob"), "job")
    if hostname is None:
        hostname = os.uname().nodename  # gethostname() without importing socket (4 ms)
    binder = _Binder(job, task_id=task_id, instance=instance, ports=ports, hostname=hostname,
                     xcom=xcom_path(sandbox))
    try:
        bound = binder.bind(job, ("struct", "MesosJob"), "job")
    except mustache.TemplateError as e:
        raise InvalidTask(f"task {task_id}: {e}") from e
    binder.check_ports()
    return _spec(bound, binder.all_ports, instance).checked()


# ------------------------------------------------------------------ the schema's defaults
def _fill(value: Any, kind: Kind, where: str) -> Any:
    """``value`` checked against ``kind``, with the defaults of every struct in it."""
    tag = kind if isinstance(kind, str) else kind[0]
    if tag == "any":
        return value
    if tag == "struct":
        return _fill_struct(value, kind[1], where)
    if tag == "list":
        if not isinstance(value, list):
            raise _wrong(where, "a list", value)
        return [_fill(v, kind[1], f"{where}[{i}]") for i, v in enumerate(value)]
    if tag == "map":
        if not isinstance(value, dict):
            raise _wrong(where, "an object", value)
        return {k: _fill(v, kind[1], f"{where}[{k}]") for k, v in value.items()}
    if value is None or isinstance(value, list | dict):
        raise _wrong(where, f"a {tag}", value)
    if tag == "enum" and value not in kind[1] and not (isinstance(value, str) and "{{" in value):
        raise _wrong(where, f"one of {', '.join(kind[1])}", value)  # a template waits for binding
    return value


def _fill_struct(value: Any, name: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong(where, "an object", value)
    fields = STRUCTS[name]
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise WireDataError(f"executor data is not a job: {where}: unknown attribute {unknown[0]}")
    out: dict[str, Any] = {}
    for field, (kind, default) in fields.items():
        if field in value:
            out[field] = _fill(value[field], kind, f"{where}.{field}")
        elif default is not ABSENT:
            out[field] = _fill(default, kind, f"{where}.{field}")
    # Three defaults are templates of the struct's own fields; resolved here as pystachio's
    # scoping would (a missing target leaves the template, which the language then refuses).
    if name == "Task" and "name" not in value and out.get("processes"):
        out["name"] = out["processes"][0].get("name", out["name"])
    elif name == "MesosJob" and "name" not in value and "name" in out.get("task", {}):
        out["name"] = out["task"]["name"]
    elif name == "Announcer" and "portmap" not in value:
        out["portmap"] = {"aurora": out["primary_port"]}
    return out


def _wrong(where: str, expected: str, value: Any) -> WireDataError:
    got = repr(value) if isinstance(value, str) else type(value).__name__
    if value is None:
        got = "null"
    return WireDataError(f"executor data is not a job: {where} must be {expected}, not {got}")


# ------------------------------------------------------------------ the runtime variables
class _Binder:
    """Substitutes the runtime variables and coerces every value to its schema type."""

    def __init__(self, job: dict[str, Any], *, task_id: str, instance: int,
                 ports: Mapping[str, int], hostname: str, xcom: str) -> None:  # fmt: skip
        self.task_id = task_id
        self.assigned = dict(ports)
        role = job.get("role")
        self.values = {"task_id": task_id, "user": "" if role is None else str(role),
                       "instance": str(instance), "hostname": hostname,
                       "xcom": xcom}  # fmt: skip
        if any("{{" in v for v in self.values.values()):
            # Pystachio interpolates a bound value in its own scope first.
            raise NeedsConfigLanguage("a runtime value is itself a template")
        portmap = job["announce"]["portmap"] if "announce" in job else {}
        if any("{{" in str(k) + str(v) for k, v in portmap.items()):
            # The language resolves the portmap in the announcer's scope before using it.
            raise NeedsConfigLanguage("the announcer's portmap holds templates")
        self.portmap = _resolve_portmap(portmap)
        self.needed = {v for v in self.portmap.values() if isinstance(v, str)}
        self.all_ports = _instance_ports(self.assigned, self.portmap)

    def lookup(self, ref: Ref) -> str | None:
        if len(ref) == 3 and ref[:2] == _PORTS and ref[2][0] == "[":
            name = ref[2][1]
            target = self.portmap.get(name, name)
            if isinstance(target, str):
                self.needed.add(target)
            port = self.all_ports.get(name)
            return None if port is None else str(port)
        scalar = _SCALARS.get(ref)
        if scalar is None:
            raise NeedsConfigLanguage(f"{mustache.ref_text(ref)} is not a runtime variable")
        return self.values[scalar]

    def text(self, value: str) -> tuple[str, bool]:
        """``value`` with its references bound; whether some are left unbound."""
        text, unbound = mustache.resolve(value, self.lookup)
        return text, bool(unbound)

    def bind(self, value: Any, kind: Kind, where: str) -> Any:
        tag = kind if isinstance(kind, str) else kind[0]
        if tag == "struct":
            fields = STRUCTS[kind[1]]
            return {k: self.bind(v, fields[k][0], f"{where}.{k}") for k, v in value.items()}
        if tag == "list":
            return [self.bind(v, kind[1], f"{where}[{i}]") for i, v in enumerate(value)]
        if tag == "map":
            return {self.bind(k, "str", f"{where} key"): self.bind(v, kind[1], f"{where}[{k}]")
                    for k, v in value.items()}  # fmt: skip
        if tag == "any":
            self._scan(value)
            return value
        if isinstance(value, str):
            value, unbound = self.text(value)
            if unbound:
                return value  # a port not assigned: check_ports() says which
        return _coerce(value, kind, where)

    def _scan(self, value: Any) -> None:
        """References in a part the runner does not read still count (ports, unbound)."""
        if isinstance(value, str):
            self.text(value)
        elif isinstance(value, list):
            for v in value:
                self._scan(v)
        elif isinstance(value, dict):
            for v in value.values():
                self._scan(v)

    def check_ports(self) -> None:
        missing = sorted(self.needed - set(self.assigned))
        if missing:
            raise InvalidTask(f"task {self.task_id}: no port assigned for {', '.join(missing)}")


def _resolve_portmap(portmap: Mapping[str, Any]) -> dict[str, int | str]:
    """The announcer's aliases followed to a static port or a port to assign."""
    names = {str(k): str(v) for k, v in portmap.items()}
    resolved: dict[str, int | str] = {}
    for name in names:
        seen = [name]
        value = names[name]
        while value in names and value != seen[-1]:
            if value in seen:
                raise InvalidTask(f"announce.portmap: aliases form a cycle: {' -> '.join(seen)}")
            seen.append(value)
            value = names[value]
        resolved[name] = int(value) if value.isdigit() else value
    return resolved


def _instance_ports(assigned: dict[str, int], portmap: dict[str, int | str]) -> dict[str, int]:
    ports = dict(assigned)
    for name, target in portmap.items():
        if isinstance(target, int):
            ports.setdefault(name, target)
        elif target in assigned:
            ports.setdefault(name, assigned[target])
    return ports


def _coerce(value: Any, kind: Kind, where: str) -> Any:
    """As pystachio's String, Integer, Float, Boolean and Enum coerce."""
    tag = kind if isinstance(kind, str) else kind[0]
    try:
        if tag == "str" and isinstance(value, str | int | float):
            return str(value)
        if tag == "int" and isinstance(value, str | int | float):
            return int(value)
        if tag == "float" and isinstance(value, str | int | float):
            return float(value)
        if tag == "bool":
            if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
                return value.lower() in ("true", "1")
            if isinstance(value, int | float):
                return bool(value)
        if tag == "enum" and isinstance(value, str) and value in kind[1]:
            return value
    except ValueError:
        pass
    expected = f"one of {', '.join(kind[1])}" if tag == "enum" else f"a {tag}"
    raise InvalidTask(f"{where}: {value!r} is not {expected}")


# ------------------------------------------------------------------ the spec
def _required(struct: Mapping[str, Any], field: str, where: str) -> Any:
    if field not in struct:
        raise InvalidTask(f"{where}.{field} is required")
    return struct[field]


def _process(p: dict[str, Any], where: str) -> ProcessSpec:
    logger = p["logger"]
    rotate = logger.get("rotate")
    return ProcessSpec(
        name=_required(p, "name", where),
        cmdline=_required(p, "cmdline", where),
        max_failures=p["max_failures"],
        daemon=p["daemon"],
        ephemeral=p["ephemeral"],
        min_duration=float(p["min_duration"]),
        final=p["final"],
        logger=LoggerSpec(
            destination=logger["destination"],
            mode=logger["mode"],
            log_size=100 * 1024 * 1024 if rotate is None else rotate["log_size"],
            backups=5 if rotate is None else rotate["backups"],
        ),
    )


def _health(job: dict[str, Any], ports: Mapping[str, int]) -> HealthSpec | None:
    config = job["health_check_config"]
    checker = config["health_checker"]
    common: dict[str, Any] = {k: config[k] for k in (
        "initial_interval_secs", "interval_secs", "max_consecutive_failures",
        "min_consecutive_successes", "timeout_secs")}  # fmt: skip
    if "shell" in checker:
        command = _required(checker["shell"], "shell_command", "health_checker.shell")
        return HealthSpec(kind="shell", shell_command=command, **common)
    if "health" not in ports:
        return None
    http = checker.get("http", {})
    return HealthSpec(
        kind="http",
        port=ports["health"],
        endpoint=http.get("endpoint", "/health"),
        expected_response=http.get("expected_response", "ok"),
        expected_response_code=http.get("expected_response_code", 0),
        **common,
    )


def _lifecycle(job: dict[str, Any], ports: Mapping[str, int]) -> LifecycleSpec | None:
    http = job["lifecycle"].get("http")
    if http is None or http["port"] not in ports:
        return None
    return LifecycleSpec(
        port=ports[http["port"]],
        graceful_shutdown_endpoint=http["graceful_shutdown_endpoint"],
        shutdown_endpoint=http["shutdown_endpoint"],
        graceful_shutdown_wait_secs=float(http["graceful_shutdown_wait_secs"]),
        shutdown_wait_secs=float(http["shutdown_wait_secs"]),
    )


def _announcer(job: dict[str, Any], ports: Mapping[str, int], instance: int,
               key: list[str]) -> AnnouncerSpec | None:  # fmt: skip
    announce = job.get("announce")
    if announce is None:
        return None
    primary = announce["primary_port"]
    endpoints = dict(ports)
    for name, target in announce["portmap"].items():
        if target.isdigit():
            endpoints[name] = int(target)
        elif target in ports:
            endpoints[name] = ports[target]
    if primary not in endpoints:
        raise InvalidTask(f"announce: primary port {primary!r} is not among the task's ports")
    path = announce["zk_path"] if "zk_path" in announce else "/aurora/" + "/".join(key[1:])
    return AnnouncerSpec(path=path, primary_port=primary, ports=endpoints, shard=instance)


def _spec(job: dict[str, Any], ports: Mapping[str, int], instance: int) -> TaskSpec:
    key = [_required(job, k, "job") for k in ("cluster", "role", "environment", "name")]
    task = _required(job, "task", "job")
    processes = _required(task, "processes", "job.task")
    return TaskSpec(
        name=task["name"],
        processes=tuple(_process(p, f"job.task.processes[{i}]") for i, p in enumerate(processes)),
        order=tuple(tuple(c["order"]) for c in task["constraints"] if "order" in c),
        max_failures=task["max_failures"],
        max_concurrency=task["max_concurrency"],
        finalization_wait=float(task["finalization_wait"]),
        health=_health(job, ports),
        lifecycle=_lifecycle(job, ports),
        announcer=_announcer(job, ports, instance, key),
        job_key="/".join(key),
        instance=instance,
        role=key[1],
        resources=_resources(task.get("resources", {})),
    )


def _resources(resources: dict[str, Any]) -> ResourcesSpec:
    return ResourcesSpec(cpu=float(resources.get("cpu", 0.0)), ram=int(resources.get("ram", 0)),
                         disk=int(resources.get("disk", 0)))  # fmt: skip
