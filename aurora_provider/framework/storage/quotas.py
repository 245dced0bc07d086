"""Per-role production quotas."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.model.job_config import Resources
from aurora_provider.framework.storage.database import Database, Transaction
from aurora_provider.framework.storage.tables import quotas


def _amount(row: sa.Row[Any] | None) -> Resources:
    """A quota row's amounts; a role without a row has no quota."""
    if row is None:
        return Resources(0.0, 0.0, 0.0)
    return Resources(row.cpu, row.ram_mb, row.disk_mb)


class QuotaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def quota(self, role: str) -> Resources:
        """The role's quota; a role without one has none."""
        rows = self._db.read(sa.select(quotas).where(quotas.c.role == role))
        return _amount(rows[0] if rows else None)

    def save(self, tx: Transaction, role: str, amount: Resources, now: float) -> None:
        tx.execute(quotas.delete().where(quotas.c.role == role))
        tx.execute(quotas.insert().values(role=role, cpu=amount.cpu, ram_mb=amount.ram_mb,
                                          disk_mb=amount.disk_mb, updated_at=now))

    def quota_in(self, tx: Transaction, role: str) -> Resources:
        """The role's quota as the open transaction sees it (read-modify-write)."""
        return _amount(tx.execute(sa.select(quotas).where(quotas.c.role == role)).first())
