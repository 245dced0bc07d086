"""Hosts in maintenance (a host in none of the modes has no row)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from aurora_provider.framework.storage.database import Database, Transaction
from aurora_provider.framework.storage.tables import host_maintenance
from aurora_provider.states.maintenance import MaintenanceMode


class MaintenanceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def modes(self) -> dict[str, tuple[MaintenanceMode, float | None]]:
        """host -> (mode, percentage) of every host in maintenance."""
        return {r.host: (MaintenanceMode(r.mode), r.percentage)
                for r in self._db.read(sa.select(host_maintenance))}

    def save(self, tx: Transaction, hosts: Iterable[str], mode: MaintenanceMode,
             percentage: float | None, now: float) -> None:
        for host in hosts:
            tx.execute(host_maintenance.delete().where(host_maintenance.c.host == host))
            if mode is not MaintenanceMode.NONE:
                tx.execute(host_maintenance.insert().values(
                    host=host, mode=mode.value, percentage=percentage, updated_at=now))
