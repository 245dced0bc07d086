"""What an update does: its settings (``UpdateConfig``), the instance diff, the batch strategy.

Strategies (Aurora's ``updater/strategy``): *queue* keeps up to ``batch_size`` instances in
flight and starts the next one as soon as one finishes; *batch* starts ``batch_size``
instances and waits for all of them; *variable batch* waits likewise with a list of sizes
(the last size repeats). ``wait_for_batch_completion=True`` turns the plain settings into a
batch strategy, as it did in Aurora.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aurora_provider.framework.errors import InvalidRequest

QUEUE, BATCH, VARIABLE_BATCH = "queue", "batch", "variable_batch"


@dataclass(frozen=True)
class UpdateSettings:
    batch_size: int = 1
    watch_secs: float = 45.0
    max_per_shard_failures: int = 0
    max_total_failures: int = 0
    rollback_on_failure: bool = True
    wait_for_batch_completion: bool = False
    pulse_interval_secs: float | None = None
    strategy: str = QUEUE
    batch_sizes: tuple[int, ...] = field(default_factory=tuple)  # variable batch only
    autopause_after_batch: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["batch_sizes"] = list(self.batch_sizes)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UpdateSettings:
        values = dict(data)
        values["batch_sizes"] = tuple(values.get("batch_sizes", ()))
        return cls(**values)


def _int(config: Mapping[str, Any], name: str, default: int, minimum: int) -> int:
    value = config.get(name, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidRequest(f"update_config.{name}: {value!r} must be an integer >= {minimum}")
    return value


def _bool(config: Mapping[str, Any], name: str, default: bool) -> bool:
    value = config.get(name, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"update_config.{name}: {value!r} must be true or false")
    return value


def settings_from_wire(config: Mapping[str, Any], instances: int) -> UpdateSettings:
    """The settings of a job's ``update_config`` (wire form); InvalidRequest names the field."""
    max_total = _int(config, "max_total_failures", 0, 0)
    if max_total >= instances:
        raise InvalidRequest(f"update_config.max_total_failures: {max_total} must be less "
                             f"than the job's {instances} instances")
    pulse = config.get("pulse_interval_secs")
    if pulse is not None and (isinstance(pulse, bool) or not isinstance(pulse, int | float)
                              or pulse <= 0):
        raise InvalidRequest(f"update_config.pulse_interval_secs: {pulse!r} must be positive")
    wait = _bool(config, "wait_for_batch_completion", False)
    batch_size = _int(config, "batch_size", 1, 1)
    strategy, autopause = (BATCH if wait else QUEUE), False
    sizes: tuple[int, ...] = ()
    chosen = config.get("update_strategy")
    if isinstance(chosen, Mapping):
        autopause = _bool(chosen, "autopause_after_batch", False)
        if "batch_sizes" in chosen:
            raw = chosen["batch_sizes"]
            if not isinstance(raw, list) or not raw or not all(
                    isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in raw):
                raise InvalidRequest("update_config.update_strategy.batch_sizes: "
                                     f"{raw!r} must be a non-empty list of integers >= 1")
            strategy, sizes = VARIABLE_BATCH, tuple(raw)
            batch_size = sizes[0]
        else:
            batch_size = _int(chosen, "batch_size", 1, 1)
            strategy = BATCH if "autopause_after_batch" in chosen else QUEUE
    elif chosen is not None:
        raise InvalidRequest("update_config.update_strategy: expected an object")
    watch = config.get("watch_secs", 45)
    if isinstance(watch, bool) or not isinstance(watch, int | float) or watch < 0:
        raise InvalidRequest(f"update_config.watch_secs: {watch!r} must be a number >= 0")
    return UpdateSettings(
        batch_size=batch_size, watch_secs=float(watch),
        max_per_shard_failures=_int(config, "max_per_shard_failures", 0, 0),
        max_total_failures=max_total,
        rollback_on_failure=_bool(config, "rollback_on_failure", True),
        wait_for_batch_completion=wait,
        pulse_interval_secs=float(pulse) if pulse is not None else None,
        strategy=strategy, batch_sizes=sizes, autopause_after_batch=autopause)


def task_digest(wire: Mapping[str, Any]) -> str:
    """A digest of what one instance runs.

    The job's wire form also carries ``instances`` and ``update_config`` (at the top and
    inside the executor's copy of the job); they are left out, or changing only the instance
    count would look like a change to every instance.
    """
    data = {k: v for k, v in wire.items() if k not in ("instances", "update_config")}
    task = dict(data.get("task", {}))
    executor = dict(task.get("executor_config", {}))
    raw = executor.get("data")
    if isinstance(raw, str):
        try:
            job = json.loads(raw)
        except ValueError:
            job = raw
        if isinstance(job, dict):
            job = {k: v for k, v in job.items() if k not in ("instances", "update_config")}
        executor["data"] = job
    task["executor_config"] = executor
    data["task"] = task
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def ordered(instances: Sequence[int], forward: bool) -> list[int]:
    """Forward updates go up the instance numbers; rollbacks come back down."""
    return sorted(instances, reverse=not forward)


def next_group(settings: UpdateSettings, idle: Sequence[int], working: int,
               groups_started: int, forward: bool, plan: Sequence[int]) -> list[int]:
    """The instances to start now.

    ``idle`` is in update order, ``working`` the number in flight, ``groups_started`` how many
    groups this direction began, ``plan`` the forward order of every instance in scope (a
    variable-batch rollback undoes the forward groups, last group first).
    """
    if not idle:
        return []
    if settings.strategy == QUEUE:
        return list(idle[:max(0, settings.batch_size - working)])
    if working:
        return []
    if settings.strategy == BATCH:
        return list(idle[:settings.batch_size])
    if forward:
        return list(idle[:_size(settings.batch_sizes, groups_started)])
    groups = _groups(settings.batch_sizes, list(plan))
    waiting = set(idle)
    for group in reversed(groups):
        chosen = [i for i in reversed(group) if i in waiting]
        if chosen:
            return chosen
    return []


def _size(sizes: Sequence[int], index: int) -> int:
    return sizes[min(index, len(sizes) - 1)]


def _groups(sizes: Sequence[int], plan: list[int]) -> list[list[int]]:
    groups: list[list[int]] = []
    start = 0
    while start < len(plan):
        size = _size(sizes, len(groups))
        groups.append(plan[start:start + size])
        start += size
    return groups
