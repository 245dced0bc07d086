"""Hosts in maintenance (a host in none of the modes has no row)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from aurora_provider.framework.storage.database import Database, Transaction
from aurora_provider.framework.storage.tables import host_maintenance
from aurora_provider.states.maintenance import MaintenanceMode


@dataclass(frozen=True)
class HostMode:
    """A host's mode and how it is drained: ``percentage`` alone keeps that share of each
    job RUNNING; with ``sla_duration_secs`` it is the default SLA of an SLA-aware drain,
    forced from ``force_drain_at`` on."""

    mode: MaintenanceMode
    percentage: float | None = None
    sla_duration_secs: float | None = None
    force_drain_at: float | None = None


class MaintenanceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def modes(self) -> dict[str, HostMode]:
        """Every host in maintenance, by name."""
        return {r.host: HostMode(MaintenanceMode(r.mode), r.percentage, r.sla_duration_secs,
                                 r.force_drain_at)
                for r in self._db.read(sa.select(host_maintenance))}

    def save(self, tx: Transaction, hosts: Iterable[str], mode: HostMode, now: float) -> None:
        for host in hosts:
            tx.execute(host_maintenance.delete().where(host_maintenance.c.host == host))
            if mode.mode is not MaintenanceMode.NONE:
                tx.execute(host_maintenance.insert().values(
                    host=host, mode=mode.mode.value, percentage=mode.percentage,
                    sla_duration_secs=mode.sla_duration_secs,
                    force_drain_at=mode.force_drain_at, updated_at=now))
