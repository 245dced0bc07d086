"""The interface between the scheduler core and a backend (this machine, or Mesos).

The core asks for offers, launches and kills tasks, and polls status updates; it never
waits on a backend. Every state a backend reports has been persisted by the core before
the core acts on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.placement.offers import Offer
from aurora_provider.states.task import TaskState


@dataclass(frozen=True)
class StatusUpdate:
    task_id: str
    state: TaskState
    message: str | None = None


@dataclass(frozen=True)
class Launch:
    """Everything a backend needs to run (or re-attach to) one task."""

    task_id: str
    job_key: str
    instance: int
    agent_id: str
    hostname: str
    ports: Mapping[str, int]
    config: JobConfig
    cpu: float  # including the executor overhead
    ram_mb: float
    disk_mb: float


class TaskControl(Protocol):
    """What the core's commit path tells a backend once a change is persisted."""

    def launch(self, launches: Sequence[Launch]) -> None:
        """Start tasks; results arrive later through ``poll``."""

    def kill(self, task_ids: Sequence[str]) -> None:
        """Ask tasks to stop; their terminal states arrive through ``poll``."""


class Backend(TaskControl, Protocol):
    name: str

    def start(self) -> None:
        """Connect or prepare; called once before the first round."""

    def offers(self) -> list[Offer]:
        """Fresh offers: resources currently free on each agent."""

    def poll(self) -> list[StatusUpdate]:
        """State changes observed since the last call."""

    def reconcile(self, running: Sequence[Launch]) -> list[StatusUpdate]:
        """After a scheduler restart: re-attach to ``running`` tasks; report vanished ones."""

    def stop(self) -> None:
        """Stop watching; tasks keep running (they are detached)."""


@dataclass(frozen=True)
class LogRead:
    """Bytes of one run's stream from ``offset``; the next read starts at ``next``, and the
    file held ``size`` bytes when read (``next`` is ``offset`` when it was beyond the end)."""

    offset: int
    next: int
    size: int
    data: bytes


@dataclass(frozen=True)
class XcomRead:
    """A task's result file (``.aurora/xcom.json`` in its sandbox): its size and at most
    the asked number of its first bytes; ``size`` None when the task wrote none."""

    size: int | None
    data: bytes


@runtime_checkable
class LogSource(Protocol):
    """Optional: a backend that can read its tasks' sandbox logs."""

    def task_logs(self, task_id: str) -> dict[str, Any] | None:
        """``api.models.TaskLogs`` as JSON types, or None when the task is unknown."""

    def task_log(self, task_id: str, process: str, run: int, stream: str,
                 tail_bytes: int) -> str | None:
        """The last ``tail_bytes`` of one run's stream, or None when there is none."""

    def read_task_log(self, task_id: str, process: str, run: int, stream: str,
                      offset: int, limit: int) -> LogRead | None:
        """At most ``limit`` bytes of one run's stream from byte ``offset`` (none when the
        offset is at or beyond the end), or None when there is no such stream."""

    def read_xcom(self, task_id: str, limit: int) -> XcomRead | None:
        """The task's result file, its first ``limit`` bytes at most; None when the task is
        unknown."""


@runtime_checkable
class EventSource(Protocol):
    """Optional: a backend whose news arrives as events (offers, status updates); it calls
    ``wake`` so a scheduling round runs at once instead of at the next interval."""

    def on_event(self, wake: Callable[[], None]) -> None: ...


@runtime_checkable
class Readiness(Protocol):
    """Optional: a backend that can be up but not serving (e.g. not subscribed to Mesos)."""

    def problem(self) -> str | None:
        """One line saying why it cannot serve, or None when it can."""


@runtime_checkable
class ConfigRefusal(Protocol):
    """Optional: a backend that cannot run every configuration (the local one without a
    container runtime); admission asks it at create, update and cron schedule."""

    def refusal(self, config: JobConfig) -> str | None:
        """Why ``config`` cannot run here, in one line, or None."""
