"""What an update does: its settings (``update_config``) and the batch strategy.

Strategies (Aurora's ``updater/strategy``): *queue* keeps up to ``batch_size`` instances in
flight and starts the next one as soon as one finishes; *batch* starts ``batch_size``
instances and waits for all of them; *variable batch* waits likewise with a list of sizes
(the last size repeats). ``wait_for_batch_completion=True`` turns the plain settings into a
batch strategy, as it did in Aurora.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.model.updates import BATCH, QUEUE, VARIABLE_BATCH, UpdateSettings


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


def _number(config: Mapping[str, Any], name: str, default: float | None,
            *, positive: bool) -> float | None:
    value = config.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            (value <= 0 if positive else value < 0):
        bound = "positive" if positive else "a number >= 0"
        raise InvalidRequest(f"update_config.{name}: {value!r} must be {bound}")
    return float(value)


def settings_from_wire(config: Mapping[str, Any], instances: int) -> UpdateSettings:
    """The settings of a job's ``update_config``; InvalidRequest names the field."""
    max_total = _int(config, "max_total_failures", 0, 0)
    if max_total >= instances:
        raise InvalidRequest(f"update_config.max_total_failures: {max_total} must be less "
                             f"than the job's {instances} instances")
    pulse = _number(config, "pulse_interval_secs", None, positive=True)
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
    watch = _number(config, "watch_secs", 45.0, positive=False)
    return UpdateSettings(
        batch_size=batch_size, watch_secs=watch if watch is not None else 45.0,
        max_per_shard_failures=_int(config, "max_per_shard_failures", 0, 0),
        max_total_failures=max_total,
        rollback_on_failure=_bool(config, "rollback_on_failure", True),
        wait_for_batch_completion=wait, pulse_interval_secs=pulse,
        strategy=strategy, batch_sizes=sizes, autopause_after_batch=autopause,
        sla_aware=_bool(config, "sla_aware", False))


def instance_scope(key: str, instances: int, initial: Mapping[int, int],
                   only: frozenset[int] | None, *,
                   changed: Callable[[int], bool]) -> dict[str, list[int]]:
    """The instances an update of the job to ``instances`` instances adds, removes and
    replaces, from what runs now (``initial``: instance -> configuration id). ``changed``
    tells whether a running instance's configuration differs from the new one.

    ``only`` (Aurora's updateOnlyTheseInstances) limits all three to those instances: one
    beyond the running count is added, a running one past the new count is removed, the
    others are left as they are. InvalidRequest names what is wrong.
    """
    desired, current = set(range(instances)), set(initial)
    if only is not None:
        stray = only - desired - current
        if stray:
            raise InvalidRequest(
                f"job {key}: instances {_listed(stray)} are neither running "
                f"({_listed(current) or 'none'}) nor in the new configuration "
                f"({_listed(desired)}); name instances of either")
        desired, current = desired & only, current & only
    scope = {"add": sorted(desired - current), "remove": sorted(current - desired),
             "replace": sorted(i for i in desired & current if changed(i))}
    if not any(scope.values()):
        what = f"job {key} is" if only is None else \
            f"instances {_listed(only)} of job {key} are"
        raise InvalidRequest(f"{what} unchanged by the proposed update")
    return scope


def _listed(instances: Collection[int]) -> str:
    """``0-2,5``: instances as ranges (a scope may hold thousands)."""
    parts: list[str] = []
    values = sorted(instances)
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and values[end + 1] == values[end] + 1:
            end += 1
        first, last = values[start], values[end]
        parts.append(str(first) if first == last else f"{first}-{last}")
        start = end + 1
    return ",".join(parts)


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
