"""The API's read models of tasks, jobs and restarts, built from rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.framework.storage.rows import EventRow, RestartRow, TaskRow


def task_model(row: TaskRow, events: Sequence[EventRow] = (),
               pending_reason: str | None = None) -> m.TaskModel:
    return m.TaskModel.model_validate(task_document(row, events, pending_reason))


def task_document(row: TaskRow, events: Sequence[EventRow] = (),
                  pending_reason: str | None = None) -> dict[str, Any]:
    """``TaskModel``'s shape as plain JSON types: a 10,000-task job has 50,000 events, and
    building models for them costs several times what reading them does."""
    return {
        "task_id": row.task_id, "job_key": row.job_key, "instance": row.instance,
        "status": row.status._value_, "host": row.host, "agent_id": row.agent_id,
        "ports": dict(row.ports), "failure_count": row.failure_count,
        "ancestor_id": row.ancestor_id, "created_at": row.created_at,
        "status_at": row.status_at, "throttle_until": row.throttle_until,
        "message": row.message, "pending_reason": pending_reason,
        "events": [{"timestamp": e.timestamp, "status": e.status._value_,
                    "message": e.message} for e in events]}


def restart_model(cluster: str, row: RestartRow) -> m.RestartModel:
    return m.RestartModel.model_validate({
        "restart_id": row.restart_id, "key": f"{cluster}/{row.job_key}",
        "state": row.state.value, "batch_size": row.batch_size, "pending": list(row.pending),
        "in_flight": sorted(row.in_flight), "done": list(row.done),
        "started_at": row.started_at, "updated_at": row.updated_at, "message": row.message,
        "watch_secs": row.watch_secs, "max_per_instance_failures": row.max_per_instance_failures,
        "max_total_failures": row.max_total_failures, "failed": list(row.failed),
        "failures": {str(i): n for i, n in sorted(row.failures.items())}})
