"""Rolling restarts, so a scheduler restart resumes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.storage.database import Database, Transaction
from aurora_provider.framework.storage.rows import RestartRow
from aurora_provider.framework.storage.tables import restarts
from aurora_provider.states.restart import RestartState


def _row(r: sa.Row[Any]) -> RestartRow:
    return RestartRow(
        restart_id=r.restart_id, job_key=r.job_key, state=RestartState(r.state),
        batch_size=r.batch_size, pending=tuple(r.pending),
        in_flight={int(k): v for k, v in r.in_flight.items()}, done=tuple(r.done),
        started_at=r.started_at, updated_at=r.updated_at, message=r.message)


class RestartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, tx: Transaction, job_key: str, batch_size: int, instances: Sequence[int],
            now: float) -> RestartRow:
        restart_id = tx.insert(restarts, {
            "job_key": job_key, "state": RestartState.ACTIVE.value, "batch_size": batch_size,
            "pending": list(instances), "in_flight": {}, "done": [], "started_at": now,
            "updated_at": now})
        return RestartRow(restart_id, job_key, RestartState.ACTIVE, batch_size,
                          tuple(instances), {}, (), now, now)

    def save(self, tx: Transaction, row: RestartRow) -> None:
        tx.execute(restarts.update().where(restarts.c.restart_id == row.restart_id).values(
            state=row.state.value, pending=list(row.pending),
            in_flight={str(k): v for k, v in row.in_flight.items()}, done=list(row.done),
            updated_at=row.updated_at, message=row.message))

    def restarts(self, *, job_key: str | None = None,
                 active_only: bool = False) -> list[RestartRow]:
        stmt = sa.select(restarts).order_by(restarts.c.restart_id)
        if job_key is not None:
            stmt = stmt.where(restarts.c.job_key == job_key)
        if active_only:
            stmt = stmt.where(restarts.c.state == RestartState.ACTIVE.value)
        return [_row(r) for r in self._db.read(stmt)]
