"""What every Aurora operator shares: the hook, and waiting (deferred or in place)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, BaseOperatorLink
from airflow.sdk.exceptions import AirflowException

from aurora_provider.api import ApiError
from aurora_provider.hooks.aurora import AuroraHook
from aurora_provider.triggers.job import AuroraJobTrigger, AuroraPollingTrigger
from aurora_provider.utils.job_waits import JobWait

OBSERVER_PREFIX = "/aurora"


def dag_folder(operator: BaseOperator) -> str | None:
    """The folder of the operator's DAG file, where relative ``.aurora`` paths are found."""
    try:
        dag = operator.dag
    except RuntimeError:  # an operator used outside a DAG (tests, scripts)
        return None
    fileloc = getattr(dag, "fileloc", None)
    return os.path.dirname(str(fileloc)) if fileloc else None


def api_call(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args)``, its ApiError turned into a one-line AirflowException naming ``what``."""
    try:
        return call(*args, **kwargs)
    except ApiError as e:
        raise AirflowException(f"{what}: {e}") from e


def observer_job_path(job_key: str) -> str:
    """The observer's page of a job (served by the observer plugin under ``/aurora``)."""
    return f"{OBSERVER_PREFIX}/jobs/{job_key.strip('/')}"


class AuroraJobLink(BaseOperatorLink):
    """"Aurora job" button on the task: the job's page in the observer."""

    name = "Aurora job"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        # An operator whose job key depends on the task instance (one job per mapped
        # instance) says which key is this instance's.
        run_key = getattr(operator, "run_key", None)
        if callable(run_key):
            job_key = run_key(getattr(ti_key, "map_index", -1))
        else:
            job_key = getattr(operator, "job_key", None)
        return observer_job_path(str(job_key)) if job_key else ""


class AuroraBaseOperator(BaseOperator):
    """Base of the Aurora operators.

    :param aurora_conn_id: the Aurora connection (``aurora_default``: the local devcluster
        when it is not defined).
    :param deferrable: wait in the triggerer rather than in a worker slot.
    :param poll_interval: seconds between two looks at the scheduler while waiting.
    :param wait_timeout: seconds to wait at most (None: no limit but the task's own).
    """

    operator_extra_links = (AuroraJobLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        aurora_conn_id: str = AuroraHook.default_conn_name,
        deferrable: bool = True,
        poll_interval: float = 5.0,
        wait_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aurora_conn_id = aurora_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout

    @cached_property
    def hook(self) -> AuroraHook:
        return AuroraHook(self.aurora_conn_id)

    def wait_for_job(
        self, context: Any, job_key: str, wait: JobWait, *, method_name: str = "execute_complete",
        kwargs: dict[str, Any] | None = None, follow_logs: bool = False,
    ) -> Any:
        """Wait for ``wait`` on the job; resumes in ``method_name(context, event, **kwargs)``.
        With ``follow_logs``, the job's output is logged while it runs (the trigger's log
        when deferred, this task's log when waiting in place)."""
        trigger = AuroraJobTrigger(job_key=job_key, wait=wait.to_json(),
                                   aurora_conn_id=self.aurora_conn_id,
                                   poll_interval=self.poll_interval, follow_logs=follow_logs)
        return self.wait_with(context, trigger, method_name=method_name, kwargs=kwargs)

    def wait_with(
        self, context: Any, trigger: AuroraPollingTrigger, *, method_name: str,
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        if self.deferrable:
            self.defer(trigger=trigger, method_name=method_name, kwargs=kwargs,
                       timeout=self.wait_timeout)
        event = self._poll_in_place(trigger)
        method: Callable[..., Any] = getattr(self, method_name)
        return method(context, event, **(kwargs or {}))

    def _poll_in_place(self, trigger: AuroraPollingTrigger) -> dict[str, Any]:
        """The trigger's loop, run here: the same questions, asked from this worker, and
        what it shows of the job's output logged as this task's."""
        trigger.output_to(self.log)

        async def first_event() -> dict[str, Any]:
            async for event in trigger.run():
                return dict(event.payload)
            raise AirflowException(f"{trigger.job_key}: the wait ended without an answer")

        if self.wait_timeout is None:
            return asyncio.run(first_event())
        try:
            return asyncio.run(asyncio.wait_for(first_event(), timeout=self.wait_timeout))
        except TimeoutError as e:
            self.on_wait_timeout()
            raise AirflowException(
                f"{trigger.job_key}: gave up after {self.wait_timeout:g} s of waiting"
            ) from e

    def on_wait_timeout(self) -> None:
        """Called when a wait times out (in place or deferred); subclasses may clean up."""

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None,
                         context: Any) -> Any:
        if next_method == "__fail__":  # the deferral timed out or the trigger died
            self.on_wait_timeout()
        return super().resume_execution(next_method, next_kwargs, context)

    @staticmethod
    def checked(event: dict[str, Any] | None) -> dict[str, Any]:
        """The event of a wait, or the one-line reason it failed as an AirflowException."""
        if not event:
            raise AirflowException("the Aurora trigger sent no event")
        if event.get("status") != "success":
            raise AirflowException(str(event.get("message") or event))
        return event
