"""A cron job's values: its template (a job that is scheduled, not running) and its runs."""

from __future__ import annotations

from dataclasses import dataclass

from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.states.cron_run import CronOutcome, CronRunState

TIMEZONE_KEY = "cron_timezone"
CATCH_UP_KEY = "cron_catch_up"


@dataclass(frozen=True)
class CronTemplate:
    job_key: str  # role/environment/name
    config: JobConfig
    schedule: str
    policy: str  # KILL_EXISTING or CANCEL_NEW
    next_run_at: float | None
    created_at: float
    updated_at: float

    @property
    def timezone(self) -> str:
        """The zone the schedule is read in: the job's ``cron_timezone`` metadata, or UTC."""
        return self.config.task.metadata_value(TIMEZONE_KEY) or "UTC"

    @property
    def catch_up(self) -> bool:
        """Whether one trigger missed while the scheduler was down runs at start-up."""
        value = self.config.task.metadata_value(CATCH_UP_KEY) or ""
        return value.lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class CronRun:
    run_id: int
    job_key: str
    scheduled_at: float | None  # None: started by hand
    triggered_at: float
    started_at: float | None  # when its tasks were created
    state: CronRunState
    outcome: CronOutcome | None
    task_ids: tuple[str, ...]
    finished_at: float | None
    message: str | None
