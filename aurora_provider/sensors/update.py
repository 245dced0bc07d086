"""Sensors for rolling updates and cron runs."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowException

from aurora_provider.sensors.base import AuroraBaseSensor
from aurora_provider.triggers.update import AuroraCronRunTrigger, AuroraUpdateTrigger


class AuroraUpdateSensor(AuroraBaseSensor):
    """Wait until a job's update reaches a terminal state; fail unless it is a success.

    :param job_key: ``cluster/role/environment/name``.
    :param update_id: the update (default: the job's active update, else its newest).
    :param success_states: terminal states that count as success (default ROLLED_FORWARD).
    """

    template_fields: Sequence[str] = ("job_key", "update_id")

    def __init__(self, *, job_key: str, update_id: str | None = None,
                 success_states: Iterable[str] = ("ROLLED_FORWARD",), **kwargs: Any) -> None:
        super().__init__(job_key=job_key, **kwargs)
        self.update_id = update_id
        self.success_states = list(success_states)

    def make_trigger(self, context: Any) -> AuroraUpdateTrigger:
        return AuroraUpdateTrigger(job_key=self.job_key, update_id=self.update_id,
                                   success_states=self.success_states,
                                   aurora_conn_id=self.aurora_conn_id,
                                   poll_interval=self.poke_interval)


class AuroraCronRunSensor(AuroraBaseSensor):
    """Wait until the next run of a cron job finished; fail if it did not FINISH.

    "Next" is the first run triggered at or after ``after`` (epoch seconds), by default
    the time the sensor first ran (in ``mode="reschedule"``: its first poke, not each one).

    :param job_key: ``cluster/role/environment/name`` of the cron job.
    :param after: count runs triggered from this time on (templated: e.g. the
        ``scheduled_at`` that ``AuroraCronScheduleOperator`` returns).
    """

    template_fields: Sequence[str] = ("job_key", "after")

    def __init__(self, *, job_key: str, after: float | str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(job_key=job_key, **kwargs)
        self.after = after

    def _first_poke(self, context: Any) -> float:
        """When this wait began; a rescheduled poke is a new process, so ask Airflow."""
        if self.reschedule:
            first = context["ti"].get_first_reschedule_date(context)
            if first is not None:
                return float(first.timestamp())
        return time.time()

    def make_trigger(self, context: Any) -> AuroraCronRunTrigger:
        if self.after is None or self.after == "":  # fixed once: every poke, the same run
            self.after = self._first_poke(context)
        try:
            after = float(self.after)
        except ValueError as e:
            raise AirflowException(f"{self.task_id}: after={self.after!r} is not a time "
                                   "in epoch seconds") from e
        return AuroraCronRunTrigger(job_key=self.job_key, after=after,
                                    aurora_conn_id=self.aurora_conn_id,
                                    poll_interval=self.poke_interval)
