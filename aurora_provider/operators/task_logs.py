"""Copying a job's process output into the Airflow task log."""

from __future__ import annotations

import logging
from typing import Any

from aurora_provider.api import ApiError, SchedulerClient
from aurora_provider.utils.job_waits import instance_views

MAX_BYTES = 1024 * 1024  # per stream and run: the tail beyond this is what users look at


def end_copy_needed(event: dict[str, Any] | None) -> bool:
    """Whether the end of a run should copy its logs: the run ended, and its output was not
    followed live (the follower's last read, when the job was done, showed each stream of
    every instance's latest task up to the cap and said how much more there was: a copy
    would repeat it)."""
    return bool(event and event.get("status") in ("success", "failed")
                and not event.get("logs_followed"))


def copy_task_logs(client: SchedulerClient, job_key: str, log: logging.Logger | Any) -> None:
    """Log every process run's stdout and stderr of each instance's latest task."""
    try:
        tasks = client.job_task_lists(job_key)
    except ApiError as e:
        log.warning("cannot read %s to copy its logs: %s", job_key, e)
        return
    for instance, view in sorted(instance_views(tasks.as_status()).items()):
        try:
            listing = client.task_logs(view.task_id)
        except ApiError as e:
            log.warning("no logs for instance %d (%s): %s", instance, view.task_id, e)
            continue
        for process in listing.processes:
            for run in process.runs:
                for stream in ("stdout", "stderr"):
                    try:
                        text = client.task_log(view.task_id, process.name, run.run, stream,
                                               tail_bytes=MAX_BYTES)
                    except ApiError as e:
                        text = f"<unavailable: {e}>"
                    if text:
                        log.info("---- instance %d, process %s, run %d, %s ----\n%s",
                                 instance, process.name, run.run, stream, text.rstrip("\n"))
