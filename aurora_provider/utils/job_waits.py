"""What "wait for a job" means, as pure functions over a job's status.

Operators, sensors and triggers all wait on the same question: are the job's instances in
the states asked for yet, and has something happened that means they never will be? One
instance's state is that of its active task, or when it has none, that of its latest
terminal task (a task that failed and was rescheduled counts by its replacement).
This module imports neither Airflow nor the scheduler, so it is tested on plain data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aurora_provider.errors import AuroraError
from aurora_provider.states.task import TERMINAL, TaskState

TERMINAL_STATES: frozenset[TaskState] = TERMINAL
TASK_STATES: frozenset[TaskState] = frozenset(TaskState)


class WaitError(AuroraError):
    """A wait was asked for with states or instances that make no sense."""


@dataclass(frozen=True)
class InstanceView:
    instance: int
    state: str
    task_id: str
    active: bool
    message: str | None


@dataclass(frozen=True)
class JobWait:
    """Wait until ``count`` (default: all) of ``instances`` (default: all) are in ``states``.

    An instance that ended (terminal, with no active task replacing it) in a state outside
    ``states`` makes the wait fail: it will never get there by itself.
    """

    states: frozenset[TaskState]
    instances: tuple[int, ...] | None = None
    count: int | None = None

    @classmethod
    def of(
        cls,
        states: Iterable[str],
        instances: Iterable[int] | None = None,
        count: int | None = None,
    ) -> JobWait:
        wanted = frozenset(str(s).upper() for s in states)
        unknown = sorted(wanted - TASK_STATES)
        if not wanted or unknown:
            raise WaitError(
                f"unknown task state(s) {', '.join(unknown) or '(none given)'}; "
                f"choose among {', '.join(sorted(TASK_STATES))}"
            )
        if count is not None and count < 1:
            raise WaitError(f"count must be at least 1, not {count}")
        chosen = tuple(sorted(set(instances))) if instances is not None else None
        if chosen is not None and (not chosen or chosen[0] < 0):
            raise WaitError(f"instances must be non-negative ids, not {list(instances or [])}")
        return cls(frozenset(TaskState(s) for s in wanted), chosen, count)

    def to_json(self) -> dict[str, Any]:
        return {
            "states": sorted(s.value for s in self.states),
            "instances": list(self.instances) if self.instances is not None else None,
            "count": self.count,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobWait:
        return cls.of(data["states"], data.get("instances"), data.get("count"))


@dataclass(frozen=True)
class Verdict:
    done: bool
    failed: bool
    message: str
    instances: dict[int, str] = field(default_factory=dict)  # instance -> state

    def to_json(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "failed": self.failed,
            "message": self.message,
            "instances": {str(k): v for k, v in sorted(self.instances.items())},
        }


def instance_views(status: Mapping[str, Any]) -> dict[int, InstanceView]:
    """Each instance's current task, from a job status (``JobStatus.model_dump()``)."""
    views: dict[int, InstanceView] = {}
    for task in sorted(status.get("terminal", []), key=lambda t: t["status_at"]):
        views[task["instance"]] = _view(task, active=False)
    for task in sorted(status.get("active", []), key=lambda t: t["status_at"]):
        views[task["instance"]] = _view(task, active=True)
    return views


def _view(task: Mapping[str, Any], *, active: bool) -> InstanceView:
    message = task.get("message")
    events = task.get("events") or []
    if not message and events:
        message = events[-1].get("message")
    return InstanceView(task["instance"], str(task["status"]), task["task_id"], active, message)


def evaluate(status: Mapping[str, Any], wait: JobWait) -> Verdict:
    """Where a job stands against a wait."""
    views = instance_views(status)
    chosen: Sequence[int] = wait.instances if wait.instances is not None else sorted(views)
    states = {i: views[i].state for i in chosen if i in views}
    missing = [i for i in chosen if i not in views]
    if not views:
        return Verdict(True, True, f"job {status.get('key')} has no tasks", states)
    if missing:
        listed = ", ".join(map(str, missing))
        return Verdict(True, True, f"job {status.get('key')} has no instance {listed}", states)
    ended = [
        views[i] for i in chosen
        if i in views and not views[i].active and views[i].state not in wait.states
    ]
    reached = [i for i in chosen if i in views and views[i].state in wait.states]
    needed = wait.count if wait.count is not None else len(chosen)
    if len(reached) >= needed:
        return Verdict(True, False, _summary(reached, wait, "reached"), states)
    if ended and len(chosen) - len(ended) < needed:
        reasons = "; ".join(
            f"instance {v.instance} {v.state}" + (f" ({v.message})" if v.message else "")
            for v in ended
        )
        return Verdict(True, True, f"job {status.get('key')}: {reasons}", states)
    waiting = len(chosen) - len(reached)
    return Verdict(False, False, f"{len(reached)}/{needed} instances in "
                   f"{'/'.join(sorted(wait.states))}; {waiting} still waiting", states)


def _summary(reached: Sequence[int], wait: JobWait, verb: str) -> str:
    return f"{len(reached)} instance(s) {verb} {'/'.join(sorted(wait.states))}"
