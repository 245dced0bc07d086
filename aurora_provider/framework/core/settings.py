"""Tunables of the scheduler core, with Aurora's defaults; the daemon sets them from flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aurora_provider.framework.model.executors import CustomExecutor
from aurora_provider.framework.placement.offers import Overhead


@dataclass(frozen=True)
class SchedulerSettings:
    cluster: str = "devcluster"
    # Job environments accepted at create (Aurora's -allowed_job_environments).
    allowed_environments: str = r"^(prod|devel|test|staging\d*)$"
    # A run shorter than this makes the replacement THROTTLED (Aurora: 5 min).
    flapping_threshold_secs: float = 300.0
    backoff_initial_secs: float = 30.0
    backoff_max_secs: float = 300.0
    # ASSIGNED or STARTING for longer than this becomes LOST (Aurora: 5 min).
    transient_timeout_secs: float = 300.0
    # Terminal task history (Aurora: 2 days, at least 1 hour, at most 100 per job).
    history_max_age_secs: float = 2 * 24 * 3600.0
    history_min_age_secs: float = 3600.0
    history_max_per_job: int = 100
    prune_interval_secs: float = 60.0
    round_interval_secs: float = 0.2
    # Tasks one round places before it stops opening offers (Aurora's
    # -max_tasks_per_schedule_attempt): a large job goes out in waves, so its first launches
    # reach the agents while the round that follows places the next wave.
    max_tasks_per_round: int = 500
    # Instances of one job (Aurora's -max_tasks_per_job) and jobs, cron jobs included, one
    # role may hold (ours: Aurora bounded roles by quota only).
    max_instances: int = 4000
    max_jobs_per_role: int = 1000
    # Request bodies larger than this are refused (413) before they are read.
    max_body_bytes: int = 4 * 2**20
    overhead: Overhead = field(default_factory=Overhead)
    # Other executors jobs may name (--custom-executor-config; the Mesos backend only).
    custom_executors: Mapping[str, CustomExecutor] = field(default_factory=dict)
