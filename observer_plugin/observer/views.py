"""A task, its processes and runs as the observer's JSON: the shapes the UI plugin reads."""

from __future__ import annotations

from typing import Any

from executor.api import ProcessRunView, ProcessView, TaskView

from .resources import Sample


def run_json(run: ProcessRunView) -> dict[str, Any]:
    return {"run": run.run, "state": str(run.state), "pid": run.pid,
            "start_time": run.start_time, "stop_time": run.stop_time,
            "return_code": run.return_code, "reason": run.reason}  # fmt: skip


def process_json(process: ProcessView) -> dict[str, Any]:
    return {"name": process.name, "state": str(process.state),
            "runs": [run_json(r) for r in process.runs]}  # fmt: skip


def processes_json(view: TaskView) -> dict[str, Any]:
    return {name: process_json(p) for name, p in sorted(view.processes.items())}


def statuses(view: TaskView) -> list[tuple[str, float]]:
    """The task's states with their times, oldest first. The stream records the stages a
    task moves to; it starts ACTIVE at its launch, which is shown as the first status."""
    recorded = [(str(s), t) for s, t in view.statuses]
    if view.launch_time is not None and (not recorded or recorded[0][0] != "ACTIVE"):
        recorded.insert(0, ("ACTIVE", view.launch_time))
    return recorded


def task_json(view: TaskView, latest: Sample | None) -> dict[str, Any]:
    return {
        "task_id": view.task_id,
        "job_key": view.job_key,
        "instance": view.instance,
        "hostname": view.hostname,
        "state": str(view.state),
        "health": str(view.health),
        "launch_time": view.launch_time,
        "sandbox": view.sandbox,
        "ports": dict(view.ports),
        "statuses": [{"state": s, "timestamp": t} for s, t in statuses(view)],
        "processes": {name: {"state": str(p.state), "runs": len(p.runs)}
                      for name, p in sorted(view.processes.items())},
        "resources": latest.as_json() if latest is not None else {},
        "message": view.message,
    }  # fmt: skip
