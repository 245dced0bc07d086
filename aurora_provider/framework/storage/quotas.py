"""Per-role production quotas."""

from __future__ import annotations

import sqlalchemy as sa

from aurora_provider.framework.model.job_config import Resources
from aurora_provider.framework.storage.database import Database, Transaction
from aurora_provider.framework.storage.tables import quotas


class QuotaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def quota(self, role: str) -> Resources:
        """The role's quota; a role without one has none."""
        rows = self._db.read(sa.select(quotas).where(quotas.c.role == role))
        return Resources(rows[0].cpu, rows[0].ram_mb, rows[0].disk_mb) if rows else \
            Resources(0.0, 0.0, 0.0)

    def save(self, tx: Transaction, role: str, amount: Resources, now: float) -> None:
        tx.execute(quotas.delete().where(quotas.c.role == role))
        tx.execute(quotas.insert().values(role=role, cpu=amount.cpu, ram_mb=amount.ram_mb,
                                          disk_mb=amount.disk_mb, updated_at=now))

    def quota_in(self, tx: Transaction, role: str) -> Resources:
        """The role's quota as the open transaction sees it (read-modify-write)."""
        row = tx.execute(sa.select(quotas).where(quotas.c.role == role)).first()
        return Resources(row.cpu, row.ram_mb, row.disk_mb) if row is not None else \
            Resources(0.0, 0.0, 0.0)
