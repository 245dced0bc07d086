"""Sensors that wait for a job's instances."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowException

from aurora_provider.sensors.base import AuroraBaseSensor
from aurora_provider.triggers.job import AuroraJobTrigger
from aurora_provider.utils.job_waits import JobWait, WaitError


class AuroraJobSensor(AuroraBaseSensor):
    """Wait until N (default: all) instances of a job are in the given states.

    An instance that ended in a state outside ``states`` (and was not rescheduled) fails
    the sensor at once: it will never get there.

    :param job_key: ``cluster/role/environment/name``.
    :param states: task states that count (default RUNNING).
    :param instances: which instances to look at (default: all of them).
    :param count: how many of them must be in ``states`` (default: all).
    """

    template_fields: Sequence[str] = ("job_key", "states", "instances")

    def __init__(self, *, job_key: str, states: Iterable[str] = ("RUNNING",),
                 instances: Iterable[int] | None = None, count: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(job_key=job_key, **kwargs)
        self.states = list(states)
        self.instances = list(instances) if instances is not None else None
        self.count = count

    def make_trigger(self, context: Any) -> AuroraJobTrigger:
        try:
            wait = JobWait.of(self.states, self.instances, self.count)
        except WaitError as e:
            raise AirflowException(f"{self.task_id}: {e}") from e
        return AuroraJobTrigger(job_key=self.job_key, wait=wait.to_json(),
                                aurora_conn_id=self.aurora_conn_id,
                                poll_interval=self.poke_interval)

    def result(self, event: dict[str, Any]) -> Any:
        return event.get("instances")
