"""What the scheduler remembers of itself across restarts, by name (the Mesos framework id)."""

from __future__ import annotations

import sqlalchemy as sa

from aurora_provider.framework.storage.database import Database
from aurora_provider.framework.storage.tables import scheduler_state

FRAMEWORK_ID = "mesos.framework_id"


class SchedulerStateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> str | None:
        rows = self._db.read(sa.select(scheduler_state.c.value)
                             .where(scheduler_state.c.name == name))
        return str(rows[0].value) if rows else None

    def put(self, name: str, value: str, now: float) -> None:
        """Written at once in its own transaction: it is remembered before it is used."""
        with self._db.transaction() as tx:
            tx.execute(scheduler_state.delete().where(scheduler_state.c.name == name))
            tx.execute(scheduler_state.insert().values(name=name, value=value, updated_at=now))
