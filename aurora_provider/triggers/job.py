"""Deferrable waits: small async pollers of the scheduler, one per thing waited on.

A trigger never raises: a scheduler that cannot be reached (after the client's retries), a
refused token or a wait that can never be met all end in one event with ``status``
"error" or "failed" and a one-line ``message``. The operator's completion method is what
raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from aurora_provider.api import AsyncSchedulerClient
from aurora_provider.hooks.aurora import AuroraHook
from aurora_provider.states.restart import RestartState
from aurora_provider.utils.job_waits import JobWait, evaluate
from aurora_provider.utils.live_logs import CAP_BYTES, Limits, LogFollower, latest_refs, task_refs


class AuroraPollingTrigger(BaseTrigger):
    """Polls the scheduler until :meth:`poll` returns an event; subclasses say what to ask.

    :param job_key: ``cluster/role/environment/name``.
    :param aurora_conn_id: the Aurora connection.
    :param poll_interval: seconds between two looks.
    """

    def __init__(
        self,
        *,
        job_key: str,
        aurora_conn_id: str = AuroraHook.default_conn_name,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.job_key = job_key
        self.aurora_conn_id = aurora_conn_id
        self.poll_interval = poll_interval
        self._last_progress: str | None = None
        self._output: logging.Logger | Any = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_key": self.job_key,
                "aurora_conn_id": self.aurora_conn_id,
                "poll_interval": self.poll_interval,
                **self.parameters(),
            },
        )

    def parameters(self) -> dict[str, Any]:
        """The subclass's own (JSON-safe) constructor arguments."""
        return {}

    async def poll(self, client: AsyncSchedulerClient) -> dict[str, Any] | None:
        """One look: the event's payload when the wait is over, else None."""
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            async with AuroraHook(self.aurora_conn_id).shared_client() as client:
                while True:
                    payload = await self.poll(client)
                    if payload is not None:
                        yield TriggerEvent({"job_key": self.job_key, **payload})
                        return
                    await asyncio.sleep(self.poll_interval)
        except Exception as e:  # a bad connection, ApiError after the client's retries...
            yield TriggerEvent(error_event(self.job_key, e))

    def output_to(self, log: logging.Logger | Any) -> None:
        """Log the job's output through ``log`` rather than this trigger's logger (an
        operator waiting in place passes its own, so the lines land in its task log)."""
        self._output = log

    @property
    def output(self) -> logging.Logger | Any:
        return self._output if self._output is not None else self.log

    def progress(self, message: str) -> None:
        """Log where the wait stands, only when that changed (hundreds of triggers poll)."""
        if message != self._last_progress:
            self._last_progress = message
            self.log.info("%s: %s", self.job_key, message)


class AuroraJobTrigger(AuroraPollingTrigger):
    """Fires when a job's instances reach the states of a :class:`JobWait`.

    :param wait: ``JobWait.to_json()``: the states, instances and count waited for.
    :param follow_logs: log the job's process output as it is written, each line prefixed
        with its instance, process, run and stream (``aurora_provider.utils.live_logs``);
        the event then says ``logs_followed``.
    :param log_cap_bytes: with ``follow_logs``, the most shown of each stream and run.
    """

    def __init__(self, *, wait: dict[str, Any], follow_logs: bool = False,
                 log_cap_bytes: int = CAP_BYTES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wait = wait
        self.follow_logs = follow_logs
        self.log_cap_bytes = log_cap_bytes
        self._follower = LogFollower(Limits(cap_bytes=log_cap_bytes)) if follow_logs else None

    def parameters(self) -> dict[str, Any]:
        return {"wait": self.wait, "follow_logs": self.follow_logs,
                "log_cap_bytes": self.log_cap_bytes}

    async def poll(self, client: AsyncSchedulerClient) -> dict[str, Any] | None:
        wait = JobWait.from_json(self.wait)  # a malformed wait fails before any request
        # Pages without events: a poll costs the job's active tasks and its kept history,
        # not the full status of every task with every event.
        tasks = await client.job_task_lists(self.job_key)
        status = tasks.as_status()
        verdict = evaluate(status, wait)
        if self._follower is not None:
            lines = await self._follower.poll(client, task_refs(status))
            if verdict.done:  # what is left, and each instance's latest task if unseen
                lines += await self._follower.finish(client, latest_refs(status))
            self._show(lines)
        if not verdict.done:
            self.progress(verdict.message)
            return None
        return {"status": "failed" if verdict.failed else "success", **verdict.to_json(),
                **({"logs_followed": True} if self._follower is not None else {})}

    def _show(self, lines: list[str]) -> None:
        for line in lines:
            self.output.info("%s", line)


class AuroraRestartTrigger(AuroraPollingTrigger):
    """Fires when a rolling restart of the job is over.

    :param restart_id: the restart waited on (the scheduler's id).
    """

    def __init__(self, *, restart_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.restart_id = restart_id

    def parameters(self) -> dict[str, Any]:
        return {"restart_id": self.restart_id}

    async def poll(self, client: AsyncSchedulerClient) -> dict[str, Any] | None:
        restart = await client.restart_status(self.job_key)
        if restart.restart_id != self.restart_id or restart.state is RestartState.ABORTED:
            why = restart.message or f"restart {self.restart_id} was replaced or aborted"
            return {"status": "failed", "message": f"{self.job_key}: {why}"}
        if restart.state is RestartState.ACTIVE:
            self.progress(f"restarted {restart.done}, restarting {restart.in_flight}, "
                          f"waiting {restart.pending}")
            return None
        return {"status": "success", "message": f"{self.job_key}: restarted {restart.done}",
                "instances": restart.done}


def error_event(job_key: str, error: BaseException) -> dict[str, Any]:
    return {"status": "error", "job_key": job_key, "message": f"{job_key}: {error}"}
