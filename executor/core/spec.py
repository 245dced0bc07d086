"""The bound task as plain data: what the runner needs, without pystachio.

The runner binds a job once (``from_job``), stores the result as ``task.json`` beside the
checkpoint and works from these records from then on, so resuming a task never needs
the configuration language again. They are ``NamedTuple``s rather than dataclasses because
defining a dataclass costs about a millisecond at import, and the runner's start-up is on
the path to the first process.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import InvalidTask

# The configuration language's rule (``aurora_provider.config.plan.PROCESS_NAME_RE``):
# importing it would load pystachio into every runner, so the executor keeps this copy,
# and ``tests/executor/test_spec_checks.py`` holds the two equal.
PROCESS_NAME_RE = re.compile(r"^[^./\x00][^/\x00]*$")
MAX_PROCESS_NAME = 255  # a file name's limit


def plain(value: Any) -> Any:
    """JSON-ready form of a spec (NamedTuples become dicts, tuples lists)."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


class LoggerSpec(NamedTuple):
    destination: str = "file"  # file, console, both, none
    mode: str = "standard"  # standard, rotate
    log_size: int = 100 * 1024 * 1024
    backups: int = 5


class ProcessSpec(NamedTuple):
    name: str
    cmdline: str
    max_failures: int = 1
    daemon: bool = False
    ephemeral: bool = False
    min_duration: float = 5.0
    final: bool = False
    logger: LoggerSpec = LoggerSpec()


class HealthSpec(NamedTuple):
    kind: str  # "http" or "shell"
    endpoint: str = "/health"
    expected_response: str = "ok"
    expected_response_code: int = 0
    shell_command: str = ""
    port: int = 0
    initial_interval_secs: float = 15.0
    interval_secs: float = 10.0
    max_consecutive_failures: int = 0
    min_consecutive_successes: int = 1
    timeout_secs: float = 1.0


class LifecycleSpec(NamedTuple):
    port: int
    graceful_shutdown_endpoint: str = "/quitquitquit"
    shutdown_endpoint: str = "/abortabortabort"
    graceful_shutdown_wait_secs: float = 5.0
    shutdown_wait_secs: float = 5.0


class AnnouncerSpec(NamedTuple):
    path: str  # the serverset's znode path
    primary_port: str
    ports: dict[str, int]  # every endpoint: name -> port
    shard: int


class ResourcesSpec(NamedTuple):
    """The task's reservation, which the runner enforces (``services.limits``); 0: none."""

    cpu: float = 0.0
    ram: int = 0  # bytes
    disk: int = 0  # bytes


class TaskSpec(NamedTuple):
    name: str
    processes: tuple[ProcessSpec, ...]
    order: tuple[tuple[str, ...], ...] = ()
    max_failures: int = 1
    max_concurrency: int = 0
    finalization_wait: float = 30.0
    health: HealthSpec | None = None
    lifecycle: LifecycleSpec | None = None
    announcer: AnnouncerSpec | None = None
    job_key: str = ""
    instance: int = 0
    role: str = ""
    resources: ResourcesSpec = ResourcesSpec()

    def process(self, name: str) -> ProcessSpec:
        for p in self.processes:
            if p.name == name:
                return p
        raise InvalidTask(f"task {self.name}: no process named {name!r}")

    def to_json(self) -> str:
        return json.dumps(plain(self), sort_keys=True)

    def checked(self) -> TaskSpec:
        """This spec, once nothing in it can name a file outside the task's directories:
        process names become file names (logs, exit codes), so each must be one. Raises
        ``InvalidTask`` before the runner writes anything."""
        seen: set[str] = set()
        for index, process in enumerate(self.processes):
            name = process.name
            if not isinstance(name, str) or not PROCESS_NAME_RE.match(name) or \
                    len(name.encode()) > MAX_PROCESS_NAME:
                raise InvalidTask(f"task {self.name}: processes[{index}].name {name!r} is not "
                                  "a valid process name; it becomes a file name, so it must be "
                                  "non-empty, without '/', and not start with '.'")
            if name in seen:
                raise InvalidTask(f"task {self.name}: processes[{index}].name {name!r} is used "
                                  "by two processes")
            seen.add(name)
        return self

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSpec:
        procs = tuple(
            ProcessSpec(**{**p, "logger": LoggerSpec(**p["logger"])}) for p in d["processes"]
        )
        spec = cls(
            name=d["name"],
            processes=procs,
            order=tuple(tuple(o) for o in d.get("order", ())),
            max_failures=d.get("max_failures", 1),
            max_concurrency=d.get("max_concurrency", 0),
            finalization_wait=d.get("finalization_wait", 30.0),
            health=HealthSpec(**d["health"]) if d.get("health") else None,
            lifecycle=LifecycleSpec(**d["lifecycle"]) if d.get("lifecycle") else None,
            announcer=AnnouncerSpec(**d["announcer"]) if d.get("announcer") else None,
            job_key=d.get("job_key", ""),
            instance=d.get("instance", 0),
            role=d.get("role", ""),
            resources=ResourcesSpec(**d.get("resources", {})),
        )
        return spec.checked()

    @classmethod
    def load(cls, path: Path) -> TaskSpec:
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InvalidTask(f"{path}: not a task spec ({e})") from e
