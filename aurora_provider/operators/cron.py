"""Operators for Aurora cron jobs: schedule, deschedule, and start a run now."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from aurora_provider.operators.base import AuroraBaseOperator, api_call
from aurora_provider.operators.job_config import AuroraConfigOperator
from aurora_provider.triggers.update import AuroraCronRunTrigger


class AuroraCronScheduleOperator(AuroraConfigOperator):
    """Schedule a cron job on the Aurora scheduler, or replace its template.

    :param job_key: ``cluster/role/environment/name`` of a job with a ``cron_schedule``.
    :param config_file: a ``.aurora`` file (relative paths are looked up beside the DAG).
    :param config: ``.aurora`` text, instead of a file (not templated by Jinja).
    :param bindings: template variables (templated).
    """

    def execute(self, context: Any) -> Any:
        wire = self.job_wire()
        scheduled_at = time.time()
        with self.hook.get_conn() as client:
            cron = api_call(f"schedule {self.job_key}", client.schedule_cron, wire)
        self.log.info("%s runs on '%s' (%s), next at %s", cron.key, cron.schedule,
                      cron.collision_policy, cron.next_runs[:1])
        return {"job_key": cron.key, "schedule": cron.schedule, "next_runs": cron.next_runs,
                "scheduled_at": scheduled_at}


class AuroraCronDescheduleOperator(AuroraBaseOperator):
    """Remove a cron job's schedule (its running tasks are left alone, as in Aurora).

    :param job_key: ``cluster/role/environment/name``.
    """

    template_fields: Sequence[str] = ("job_key",)

    def __init__(self, *, job_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_key = job_key

    def execute(self, context: Any) -> Any:
        with self.hook.get_conn() as client:
            api_call(f"deschedule {self.job_key}", client.deschedule_cron, self.job_key)
        return {"job_key": self.job_key}


class AuroraCronStartOperator(AuroraBaseOperator):
    """Start a run of a cron job now, and optionally wait for it to finish.

    :param job_key: ``cluster/role/environment/name``.
    :param wait: wait until the run is over; fail unless it FINISHED.
    """

    template_fields: Sequence[str] = ("job_key",)

    def __init__(self, *, job_key: str, wait: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_key = job_key
        self.wait = wait

    def execute(self, context: Any) -> Any:
        started = time.time()
        with self.hook.get_conn() as client:
            run = api_call(f"start {self.job_key}", client.start_cron, self.job_key)
        self.log.info("cron run %d of %s started (%s)", run.run_id, self.job_key, run.state)
        if not self.wait:
            return {"job_key": self.job_key, "run_id": run.run_id}
        trigger = AuroraCronRunTrigger(job_key=self.job_key, run_id=run.run_id, after=started,
                                       aurora_conn_id=self.aurora_conn_id,
                                       poll_interval=self.poll_interval)
        return self.wait_with(context, trigger, method_name="execute_complete")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        event = self.checked(event)
        return {"job_key": self.job_key, "run_id": event["run_id"],
                "outcome": event["outcome"], "task_ids": event["task_ids"]}
