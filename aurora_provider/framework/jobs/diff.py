"""``aurora job diff``: a configuration against the running job.

Which instances change is decided by the configurations' identity (what an instance runs):
changing only the instance count adds or removes instances and updates none. The field
changes listed are everything else that differs, the executor's copy of the job opened up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.framework.model.executors import OUR_EXECUTOR, executor_name
from aurora_provider.framework.model.job_config import JobConfig

# Reported as added or removed instances, not as a field change.
_INSTANCE_COUNT = ("instances", "job.instances")


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}[{i}]", out)
    else:
        out[prefix] = value


def _flat(wire: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration as ``path: value``, with the executor's job JSON opened up."""
    data = dict(wire)
    task = dict(data.get("task", {}))
    executor = dict(task.get("executor_config", {}))
    raw = executor.pop("data", None)
    if executor_name(wire) != OUR_EXECUTOR:
        executor["data"] = raw  # a custom executor's own data: compared whole, not a job
        raw = None
    task["executor_config"] = executor
    data["task"] = task
    out: dict[str, Any] = {}
    _flatten(data, "", out)
    if isinstance(raw, str):
        try:
            _flatten(json.loads(raw), "job", out)
        except ValueError:
            out["job"] = raw
    return out


def field_changes(old: JobConfig, new: JobConfig) -> list[str]:
    """``path: old -> new`` for every field that differs (instance counts aside)."""
    a, b = _flat(old.wire), _flat(new.wire)
    return [f"{path}: {json.dumps(a.get(path))} -> {json.dumps(b.get(path))}"
            for path in sorted(set(a) | set(b))
            if path not in _INSTANCE_COUNT and a.get(path) != b.get(path)]


def job_diff(new: JobConfig, current: Mapping[int, JobConfig], base: JobConfig) -> m.JobDiff:
    """``new`` against the instances' ``current`` configurations and the job's ``base``."""
    wanted = set(range(new.instances))
    kept = sorted(wanted & set(current))
    return m.JobDiff(
        key=str(new.key), add=sorted(wanted - set(current)),
        remove=sorted(set(current) - wanted),
        update=[i for i in kept if current[i].identity != new.identity],
        unchanged=[i for i in kept if current[i].identity == new.identity],
        changes=field_changes(base, new))
