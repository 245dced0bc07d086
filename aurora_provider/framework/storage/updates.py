"""Job updates: records with per-instance progress, status events and instance events.

Writes happen in the transaction of the task changes they cause (``UpdateWrite`` rides on
the core's commit), so an update's progress and its kills and launches commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.model.updates import (
    InstanceEvent,
    InstanceProgress,
    UpdateEvent,
    UpdateRecord,
    UpdateSettings,
)
from aurora_provider.framework.storage.database import Database, Transaction
from aurora_provider.framework.storage.tables import (
    update_events,
    update_instance_events,
    update_records,
)
from aurora_provider.states.instance_update import InstanceAction, InstanceUpdateState
from aurora_provider.states.update import UpdateStatus


@dataclass
class UpdateWrite:
    """What one step of an update persists."""

    new_records: list[UpdateRecord] = field(default_factory=list)
    records: list[UpdateRecord] = field(default_factory=list)
    events: list[tuple[str, UpdateEvent]] = field(default_factory=list)
    instance_events: list[tuple[str, InstanceEvent]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.records or self.new_records or self.events or self.instance_events)


def _progress(progress: Mapping[int, InstanceProgress]) -> dict[str, list[Any]]:
    # The state as it is (a StrEnum is JSON text already): thousands per round, and an enum's
    # ``.value`` costs more than the rest of the row.
    return {str(i): [p.desired, p.state, p.failures, p.task_id] for i, p in progress.items()}


_MOVING = ("status", "message", "updated_at", "progress", "groups_started", "last_pulse_at")


def _values(r: UpdateRecord) -> dict[str, Any]:
    return {
        "update_id": r.update_id, "job_key": r.job_key, "cluster": r.cluster,
        "status": r.status.value, "user": r.user, "message": r.message,
        "created_at": r.created_at, "updated_at": r.updated_at,
        "settings": r.settings.to_json(), "desired_config_id": r.desired_config_id,
        "desired_instances": r.desired_instances,
        "initial": {str(k): v for k, v in r.initial.items()},
        "scope": {k: list(v) for k, v in r.scope.items()}, "progress": _progress(r.progress),
        "groups_started": r.groups_started, "last_pulse_at": r.last_pulse_at,
        "only_instances": None if r.only_instances is None else list(r.only_instances),
        "creates_job": r.creates_job,
    }


def _record(row: sa.Row[Any]) -> UpdateRecord:
    progress = {int(k): InstanceProgress(v[0], InstanceUpdateState(v[1]), v[2], v[3])
                for k, v in row.progress.items()}
    return UpdateRecord(
        update_id=row.update_id, job_key=row.job_key, cluster=row.cluster,
        status=UpdateStatus(row.status), user=row.user, created_at=row.created_at,
        updated_at=row.updated_at, settings=UpdateSettings.from_json(row.settings),
        desired_config_id=row.desired_config_id, desired_instances=row.desired_instances,
        initial={int(k): int(v) for k, v in row.initial.items()},
        scope={k: list(v) for k, v in row.scope.items()}, progress=progress,
        groups_started=row.groups_started, last_pulse_at=row.last_pulse_at,
        message=row.message,
        only_instances=None if row.only_instances is None else tuple(row.only_instances),
        creates_job=bool(row.creates_job))


class UpdateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def write(self, tx: Transaction, write: UpdateWrite) -> None:
        for record in write.new_records:
            tx.execute(update_records.insert().values(**_values(record)))
        # An update's specification (job, settings, configuration, scopes) is written once,
        # by the insert; a step rewrites only what moves.
        progress = tx.encoder(update_records.c.progress)
        tx.update_many(update_records, "update_id", _MOVING, [
            (r.status.value, r.message, r.updated_at, progress(_progress(r.progress)),
             r.groups_started, r.last_pulse_at, r.update_id) for r in write.records])
        tx.insert_many(update_events, ("update_id", "timestamp", "status", "user", "message"),
                       [(u, e.timestamp, e.status.value, e.user, e.message)
                        for u, e in write.events])
        # Thousands of rows per round in a large update.
        tx.insert_many(update_instance_events, ("update_id", "instance", "timestamp", "action"),
                       [(u, e.instance, e.timestamp, e.action.value)
                        for u, e in write.instance_events])

    def records(self, *, update_id: str | None = None, job_key: str | None = None,
                statuses: Iterable[UpdateStatus] | None = None) -> list[UpdateRecord]:
        """Matching updates, newest first."""
        r = update_records
        stmt = sa.select(r).order_by(r.c.created_at.desc(), r.c.update_id)
        if update_id is not None:
            stmt = stmt.where(r.c.update_id == update_id)
        if job_key is not None:
            stmt = stmt.where(r.c.job_key == job_key)
        if statuses is not None:
            stmt = stmt.where(r.c.status.in_([s.value for s in statuses]))
        return [_record(row) for row in self._db.read(stmt)]

    def events(self, update_id: str) -> list[UpdateEvent]:
        e = update_events
        stmt = sa.select(e).where(e.c.update_id == update_id).order_by(e.c.event_id)
        return [UpdateEvent(r.timestamp, UpdateStatus(r.status), r.user, r.message)
                for r in self._db.read(stmt)]

    def instance_events(self, update_id: str) -> list[InstanceEvent]:
        e = update_instance_events
        stmt = sa.select(e).where(e.c.update_id == update_id).order_by(e.c.event_id)
        return [InstanceEvent(r.instance, r.timestamp, InstanceAction(r.action))
                for r in self._db.read(stmt)]
