"""Tunables of the operations, with Aurora's defaults; the daemon sets them from flags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OpsSettings:
    # A task PENDING this long may preempt (Aurora's -preemption_delay: 3 minutes).
    preemption_delay_secs: float = 180.0
    preemption_enabled: bool = True
    backup_dir: Path | None = None
    # Periodic backups (Aurora: every hour, keeping 48); 0 turns them off.
    backup_interval_secs: float = 3600.0
    backups_kept: int = 48
    # SLA-aware drains apply the default SLA only to jobs with this many active tasks
    # (Aurora's -min_required_instances_for_sla_check).
    sla_min_instances: int = 20
    # SLA metrics are computed over windows of this length (Aurora's
    # -sla_stat_refresh_interval), for production jobs and, if asked, the others too.
    sla_stat_refresh_secs: float = 60.0
    sla_non_prod_metrics: bool = False
