"""What every Aurora sensor shares: one poll of its trigger is one poke.

A sensor names its trigger; poking runs the trigger's own ``poll`` once, so the deferred
path and the poking path ask the scheduler the same question and judge it the same way.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException

from aurora_provider.hooks.aurora import AuroraHook
from aurora_provider.operators.base import AuroraJobLink
from aurora_provider.triggers.job import AuroraPollingTrigger


class AuroraBaseSensor(BaseSensorOperator):
    """Base of the Aurora sensors.

    :param job_key: ``cluster/role/environment/name``.
    :param aurora_conn_id: the Aurora connection.
    :param deferrable: wait in the triggerer (default) rather than poking from a worker;
        ``poke_interval`` is the trigger's polling interval. ``mode="reschedule"`` pokes
        from a worker and gives its slot back between pokes, whatever ``deferrable`` says:
        it is the one way asked for by name.
    """

    operator_extra_links = (AuroraJobLink(),)

    def __init__(self, *, job_key: str,
                 aurora_conn_id: str = AuroraHook.default_conn_name,
                 deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_key = job_key
        self.aurora_conn_id = aurora_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> AuroraHook:
        return AuroraHook(self.aurora_conn_id)

    def make_trigger(self, context: Any) -> AuroraPollingTrigger:
        raise NotImplementedError

    def result(self, event: dict[str, Any]) -> Any:
        """The XCom value of a wait that succeeded."""
        return {k: v for k, v in event.items() if k not in ("status", "message")}

    async def _poll_once(self, trigger: AuroraPollingTrigger) -> dict[str, Any] | None:
        async with self.hook.shared_client() as client:
            return await trigger.poll(client)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        try:
            event = asyncio.run(self._poll_once(self.make_trigger(context)))
        except Exception as e:  # ApiError after retries, a malformed wait...
            raise AirflowException(f"{self.job_key}: {e}") from e
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.result(self.checked(event)))

    def execute(self, context: Any) -> Any:
        if not self.deferrable or self.reschedule:
            return super().execute(context)
        done = self.poke(context)
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        self.defer(trigger=self.make_trigger(context), method_name="execute_complete",
                   timeout=timedelta(seconds=self.timeout))

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        return self.result(self.checked(event))

    @staticmethod
    def checked(event: dict[str, Any] | None) -> dict[str, Any]:
        if not event or event.get("status") != "success":
            raise AirflowException(str((event or {}).get("message") or event))
        return event
