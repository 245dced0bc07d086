"""The operations features of issue 5 wired into one scheduler core.

``install_operations(core, settings)`` creates the cron service, maintenance, preemptor and
backups for ``core``, plugs maintenance into placement (offer order and veto) and adds one
round hook that ticks cron, drains and preemption; ``operations_of(core)`` finds them again
(the HTTP routes use it). A failing part is logged and does not stop the round.
"""

from __future__ import annotations

import argparse
import logging
import weakref
from dataclasses import dataclass
from pathlib import Path

from aurora_provider.framework.backups import Backups
from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.cron import CronService
from aurora_provider.framework.maintenance import MaintenanceService
from aurora_provider.framework.preemption import Preemptor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpsSettings:
    # A task PENDING this long may preempt (Aurora's -preemption_delay: 3 minutes).
    preemption_delay_secs: float = 180.0
    preemption_enabled: bool = True
    backup_dir: Path | None = None
    # Periodic backups (Aurora: every hour, keeping 48); 0 turns them off.
    backup_interval_secs: float = 3600.0
    backups_kept: int = 48


class Operations:
    def __init__(self, core: Scheduler, settings: OpsSettings) -> None:
        self.core = core
        self.settings = settings
        self.cron = CronService(core)
        self.maintenance = MaintenanceService(core)
        self.preemptor = Preemptor(core, settings.preemption_delay_secs)
        self.backups = Backups(core.store, settings.backup_dir)
        self._last_backup = core.clock()  # the first periodic backup comes one interval on

    def tick(self) -> None:
        parts = [self.cron.tick, self.maintenance.tick, self._periodic_backup]
        if self.settings.preemption_enabled:
            parts.append(self.preemptor.tick)
        for part in parts:
            try:
                part()
            except Exception:  # one broken feature must not stop scheduling
                log.exception("%s failed", getattr(part, "__qualname__", part))


    def _periodic_backup(self) -> None:
        interval = self.settings.backup_interval_secs
        now = self.core.clock()
        if interval <= 0 or self.backups.directory is None or now - self._last_backup < interval:
            return
        self._last_backup = now
        made = self.backups.backup_now()
        pruned = self.backups.prune(self.settings.backups_kept)
        log.info("periodic backup %s written (%d old ones pruned)", made.backup_id, len(pruned))


_INSTALLED: weakref.WeakKeyDictionary[Scheduler, Operations] = weakref.WeakKeyDictionary()


def install_operations(core: Scheduler, settings: OpsSettings | None = None) -> Operations:
    """Idempotent: a core gets its operations once."""
    found = _INSTALLED.get(core)
    if found is not None:
        return found
    ops = Operations(core, settings or OpsSettings(backup_dir=default_backup_dir(core)))
    core.placer.order = ops.maintenance.order
    core.placer.filters.append(ops.maintenance.veto)
    core.round_hooks.append(ops.tick)
    _INSTALLED[core] = ops
    return ops


def operations_of(core: Scheduler) -> Operations:
    return install_operations(core)


def default_backup_dir(core: Scheduler) -> Path | None:
    """``backups/`` next to a SQLite database; other databases need --backup-dir."""
    url = core.store.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "backups"
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("operations")
    group.add_argument("--preemption-delay", type=float, default=180.0, metavar="SECS",
                       help="how long a task stays PENDING before it may preempt (180)")
    group.add_argument("--no-preemption", action="store_true", help="never preempt tasks")
    group.add_argument("--backup-dir", type=Path, metavar="DIR",
                       help="where backups go (default: WORK_DIR/backups for SQLite)")
    group.add_argument("--backup-interval", type=float, default=3600.0, metavar="SECS",
                       help="periodic backups (3600; 0 turns them off)")
    group.add_argument("--backups-kept", type=int, default=48, metavar="N",
                       help="periodic backups keep the newest N (48)")


def settings_from(args: argparse.Namespace, core: Scheduler) -> OpsSettings:
    return OpsSettings(
        preemption_delay_secs=args.preemption_delay,
        preemption_enabled=not args.no_preemption,
        backup_interval_secs=args.backup_interval, backups_kept=args.backups_kept,
        backup_dir=(args.backup_dir.expanduser().resolve() if args.backup_dir
                    else default_backup_dir(core)))
