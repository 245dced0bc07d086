"""Sensors that wait for a job's instances."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException

from aurora_provider.api import ApiError
from aurora_provider.hooks.aurora import AuroraHook
from aurora_provider.operators.base import AuroraJobLink
from aurora_provider.triggers.job import AuroraJobTrigger
from aurora_provider.utils.job_waits import JobWait, evaluate


class AuroraJobSensor(BaseSensorOperator):
    """Wait until N (default: all) instances of a job are in the given states.

    An instance that ended in a state outside ``states`` (and was not rescheduled) fails
    the sensor at once: it will never get there.

    :param job_key: ``cluster/role/environment/name``.
    :param states: task states that count (default RUNNING).
    :param instances: which instances to look at (default: all of them).
    :param count: how many of them must be in ``states`` (default: all).
    :param aurora_conn_id: the Aurora connection.
    :param deferrable: wait in the triggerer (default) rather than poking from a worker.
    """

    template_fields: Sequence[str] = ("job_key", "states", "instances")
    operator_extra_links = (AuroraJobLink(),)

    def __init__(
        self,
        *,
        job_key: str,
        states: Iterable[str] = ("RUNNING",),
        instances: Iterable[int] | None = None,
        count: int | None = None,
        aurora_conn_id: str = AuroraHook.default_conn_name,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_key = job_key
        self.states = list(states)
        self.instances = list(instances) if instances is not None else None
        self.count = count
        self.aurora_conn_id = aurora_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> AuroraHook:
        return AuroraHook(self.aurora_conn_id)

    def _wait(self) -> JobWait:
        try:
            return JobWait.of(self.states, self.instances, self.count)
        except ValueError as e:
            raise AirflowException(f"{self.task_id}: {e}") from e

    def poke(self, context: Any) -> bool:
        try:
            with self.hook.get_conn() as client:
                status = client.job_status(self.job_key)
        except ApiError as e:
            raise AirflowException(f"{self.job_key}: {e}") from e
        verdict = evaluate(status.model_dump(), self._wait())
        self.log.info("%s: %s", self.job_key, verdict.message)
        if verdict.failed:
            raise AirflowException(verdict.message)
        return verdict.done

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=AuroraJobTrigger(job_key=self.job_key, wait=self._wait().to_json(),
                                     aurora_conn_id=self.aurora_conn_id,
                                     poll_interval=self.poke_interval),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        if not event or event.get("status") != "success":
            raise AirflowException(str((event or {}).get("message") or event))
        self.log.info("%s", event.get("message"))
        return event.get("instances")
