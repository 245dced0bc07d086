"""Deferrable waits on rolling updates and cron runs."""

from __future__ import annotations

from typing import Any

from aurora_provider.api import AsyncSchedulerClient
from aurora_provider.api import models as m
from aurora_provider.states.cron_run import CronOutcome, CronRunState
from aurora_provider.states.instance_update import FAILED_ACTIONS, InstanceUpdateState
from aurora_provider.states.update import TERMINAL as UPDATE_TERMINAL
from aurora_provider.states.update import UpdateStatus
from aurora_provider.triggers.job import AuroraPollingTrigger


def failing_instances(update: m.UpdateDetails) -> list[int]:
    failed = {p.instance for p in update.progress if p.state is InstanceUpdateState.FAILED}
    failed |= {e.instance for e in update.instance_events if e.action in FAILED_ACTIONS}
    return sorted(failed)


def update_outcome(update: m.UpdateDetails, success: frozenset[str]) -> dict[str, Any]:
    """The event of an update that reached a terminal state."""
    failing = failing_instances(update)
    ok = update.status in success
    detail = f"; failing instances: {', '.join(map(str, failing))}" if failing else ""
    why = f" ({update.message})" if update.message and not ok else ""
    return {
        "status": "success" if ok else "failed",
        "update_id": update.update_id,
        "update_status": update.status,
        "failing_instances": failing,
        "message": f"update {update.update_id} of {update.key}: {update.status}{why}{detail}",
    }


class AuroraUpdateTrigger(AuroraPollingTrigger):
    """Fires when an update reaches a terminal state or one of ``success_states``.

    :param update_id: the update; None: the job's active update (else its newest).
    :param success_states: states that count as success (default ROLLED_FORWARD); a
        paused state here makes the trigger fire when the update pauses (autopause).
    :param pulse: pulse a coordinated update (``pulse_interval_secs``) on every poll, so
        that this Airflow task is its coordinator.
    """

    def __init__(self, *, update_id: str | None = None,
                 success_states: list[str] | None = None, pulse: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.update_id = update_id
        self.success_states = sorted(success_states or [UpdateStatus.ROLLED_FORWARD.value])
        self.pulse = pulse

    def parameters(self) -> dict[str, Any]:
        return {"update_id": self.update_id, "success_states": self.success_states,
                "pulse": self.pulse}

    async def poll(self, client: AsyncSchedulerClient) -> dict[str, Any] | None:
        update = await client.update_details(self.job_key, self.update_id)
        if update.status in UPDATE_TERMINAL or update.status in self.success_states:
            return update_outcome(update, frozenset(self.success_states))
        if self.pulse and update.settings.pulse_interval_secs:
            await client.pulse_update(self.job_key, update.update_id)
        done = sum(1 for p in update.progress if p.state is InstanceUpdateState.SUCCEEDED)
        self.progress(f"update {update.update_id} {update.status}: {done}/"
                      f"{len(update.progress)} instances done")
        return None


class AuroraCronRunTrigger(AuroraPollingTrigger):
    """Fires when a cron job's run is over: the run ``run_id``, or else the first run
    triggered at or after ``after`` (epoch seconds).

    :param run_id: the run waited on.
    :param after: wait for the next run triggered from this time on.
    """

    def __init__(self, *, run_id: int | None = None, after: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.after = after

    def parameters(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "after": self.after}

    def _chosen(self, runs: list[m.CronRunModel]) -> m.CronRunModel | None:
        if self.run_id is not None:
            return next((r for r in runs if r.run_id == self.run_id), None)
        later = [r for r in runs if self.after is None or r.triggered_at >= self.after]
        return min(later, key=lambda r: r.triggered_at) if later else None

    async def poll(self, client: AsyncSchedulerClient) -> dict[str, Any] | None:
        run = self._chosen((await client.cron_runs(self.job_key)).runs)
        if run is None or run.state is not CronRunState.DONE:
            self.progress("waiting for the next run" if run is None
                          else f"run {run.run_id} is {run.state}")
            return None
        ok = run.outcome is CronOutcome.FINISHED
        why = f" ({run.message})" if run.message and not ok else ""
        return {"status": "success" if ok else "failed", "run_id": run.run_id,
                "outcome": run.outcome, "task_ids": run.task_ids,
                "message": f"cron run {run.run_id} of {self.job_key}: {run.outcome}{why}"}
