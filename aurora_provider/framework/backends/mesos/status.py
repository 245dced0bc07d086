"""Mesos task states and reasons as the scheduler's task states, with a message that says why.

The mapping is Aurora's: STAGING and STARTING are STARTING; ERROR, DROPPED, GONE,
GONE_BY_OPERATOR and UNKNOWN are LOST (the task is not running and will not); UNREACHABLE
is PARTITIONED (it may come back; the job's PartitionPolicy decides how long to wait);
KILLING changes nothing (the task is still up until it is KILLED).
"""

from __future__ import annotations

from typing import Any

from aurora_provider.states.task import TaskState

S = TaskState

STATES: dict[str, TaskState | None] = {
    "TASK_STAGING": S.STARTING,
    "TASK_STARTING": S.STARTING,
    "TASK_RUNNING": S.RUNNING,
    "TASK_KILLING": None,
    "TASK_FINISHED": S.FINISHED,
    "TASK_FAILED": S.FAILED,
    "TASK_KILLED": S.KILLED,
    "TASK_ERROR": S.LOST,
    "TASK_LOST": S.LOST,
    "TASK_DROPPED": S.LOST,
    "TASK_UNREACHABLE": S.PARTITIONED,
    "TASK_GONE": S.LOST,
    "TASK_GONE_BY_OPERATOR": S.LOST,
    "TASK_UNKNOWN": S.LOST,
}

# What a reason means when the status carries no message of its own.
_REASONS = {
    "REASON_AGENT_REMOVED": "Agent removed from the cluster",
    "REASON_AGENT_RESTARTED": "Agent restarted",
    "REASON_AGENT_UNKNOWN": "Agent unknown to the master",
    "REASON_AGENT_DISCONNECTED": "Agent disconnected",
    "REASON_AGENT_UNREACHABLE": "Agent unreachable",
    "REASON_EXECUTOR_TERMINATED": "Executor terminated",
    "REASON_EXECUTOR_REGISTRATION_TIMEOUT": "Executor did not register in time",
    "REASON_EXECUTOR_UNREGISTERED": "Executor unregistered",
    "REASON_CONTAINER_LIMITATION_MEMORY": "Memory limit exceeded",
    "REASON_CONTAINER_LIMITATION_DISK": "Disk limit exceeded",
    "REASON_CONTAINER_LAUNCH_FAILED": "Container launch failed",
    "REASON_INVALID_OFFERS": "Invalid offers",
    "REASON_TASK_INVALID": "Invalid task",
    "REASON_TASK_UNKNOWN": "Task unknown to Mesos",
    "REASON_RECONCILIATION": "Reconciled with Mesos",
    "REASON_FRAMEWORK_REMOVED": "Framework removed",
    "REASON_MASTER_DISCONNECTED": "Master disconnected",
}


def task_state(status: dict[str, Any]) -> TaskState | None:
    """The scheduler's state for a v1 TaskStatus, or None when it changes nothing."""
    return STATES.get(str(status.get("state")))


def message(status: dict[str, Any]) -> str:
    """One line: the status's own message, else what its reason means, else its state."""
    text = " ".join(str(status.get("message") or "").split())
    reason = str(status.get("reason") or "")
    meaning = _REASONS.get(reason) or (reason.removeprefix("REASON_").replace("_", " ")
                                       .capitalize() if reason else "")
    if text and meaning and reason != "REASON_RECONCILIATION":
        return f"{meaning}: {text}"
    return text or meaning or str(status.get("state", "")).removeprefix("TASK_").capitalize()


def task_id(status: dict[str, Any]) -> str:
    return str((status.get("task_id") or {}).get("value", ""))


def agent_id(status: dict[str, Any]) -> str | None:
    value = (status.get("agent_id") or {}).get("value")
    return str(value) if value else None
