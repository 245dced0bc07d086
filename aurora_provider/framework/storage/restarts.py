"""Rolling restarts, so a scheduler restart resumes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
        started_at=r.started_at, updated_at=r.updated_at, message=r.message,
        watch_secs=r.watch_secs, max_per_instance_failures=r.max_per_instance_failures,
        max_total_failures=r.max_total_failures,
        failures={int(k): int(v) for k, v in r.failures.items()}, failed=tuple(r.failed),
        watching={int(k): v for k, v in r.watching.items()})


@dataclass(frozen=True)
class RestartLimits:
    """How a restart judges its instances (Aurora's restart options)."""

    batch_size: int = 1
    watch_secs: float = 0.0
    max_per_instance_failures: int = 0
    max_total_failures: int = 0


class RestartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, tx: Transaction, job_key: str, limits: RestartLimits,
            instances: Sequence[int], now: float) -> RestartRow:
        row = RestartRow(
            0, job_key, RestartState.ACTIVE, limits.batch_size, tuple(instances), {}, (), now,
            now, watch_secs=limits.watch_secs,
            max_per_instance_failures=limits.max_per_instance_failures,
            max_total_failures=limits.max_total_failures)
        restart_id = tx.insert(restarts, {
            "job_key": job_key, "state": row.state.value, "batch_size": row.batch_size,
            "pending": list(instances), "in_flight": {}, "done": [], "started_at": now,
            "updated_at": now, "watch_secs": row.watch_secs,
            "max_per_instance_failures": row.max_per_instance_failures,
            "max_total_failures": row.max_total_failures, "failures": {}, "failed": [],
            "watching": {}})
        return replace(row, restart_id=restart_id)

    def save(self, tx: Transaction, row: RestartRow) -> None:
        tx.execute(restarts.update().where(restarts.c.restart_id == row.restart_id).values(
            state=row.state.value, pending=list(row.pending),
            in_flight={str(k): v for k, v in row.in_flight.items()}, done=list(row.done),
            updated_at=row.updated_at, message=row.message,
            failures={str(k): v for k, v in row.failures.items()}, failed=list(row.failed),
            watching={str(k): v for k, v in row.watching.items()}))

    def restarts(self, *, job_key: str | None = None,
                 active_only: bool = False) -> list[RestartRow]:
        stmt = sa.select(restarts).order_by(restarts.c.restart_id)
        if job_key is not None:
            stmt = stmt.where(restarts.c.job_key == job_key)
        if active_only:
            stmt = stmt.where(restarts.c.state == RestartState.ACTIVE.value)
        return [_row(r) for r in self._db.read(stmt)]
