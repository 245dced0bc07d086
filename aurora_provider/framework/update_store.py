"""Job updates in the store: records, per-instance progress, status and instance events.

The tables (``update_*``) are created by the Alembic revision ``0002_updates``. Writes take
the connection of a transaction the core opened (``Transaction.connection``), so an update's
progress commits together with the task changes it causes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.errors import StorageError
from aurora_provider.framework.storage import Store
from aurora_provider.framework.update_plan import UpdateSettings
from aurora_provider.framework.update_state import InstanceAction, UpdateStatus

metadata = sa.MetaData()

records = sa.Table(
    "update_records",
    metadata,
    sa.Column("update_id", sa.String(64), primary_key=True),
    sa.Column("job_key", sa.String(255), nullable=False, index=True),
    sa.Column("cluster", sa.String(255), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("user", sa.String(255), nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),  # UpdateSettings as JSON
    sa.Column("desired_config_id", sa.Integer, nullable=False),
    sa.Column("desired_instances", sa.Integer, nullable=False),
    sa.Column("initial", sa.Text, nullable=False),  # JSON {instance: config id} before
    sa.Column("scope", sa.Text, nullable=False),  # JSON {"add", "remove", "replace"}
    sa.Column("progress", sa.Text, nullable=False),  # JSON {instance: [desired, state, ...]}
    sa.Column("groups_started", sa.Integer, nullable=False),
    sa.Column("last_pulse_at", sa.Float, nullable=True),
)

events = sa.Table(
    "update_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("update_id", sa.String(64), nullable=False, index=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("user", sa.String(255), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
)

instance_events = sa.Table(
    "update_instance_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("update_id", sa.String(64), nullable=False, index=True),
    sa.Column("instance", sa.Integer, nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
)

# Per-instance states within one direction of an update (Aurora's InstanceUpdateStatus).
IDLE, WORKING, SUCCEEDED, FAILED = "IDLE", "WORKING", "SUCCEEDED", "FAILED"


@dataclass
class InstanceProgress:
    desired: int | None  # the task configuration wanted (None: the instance goes away)
    state: str = IDLE
    failures: int = 0
    task_id: str | None = None  # the task with the desired configuration being watched

    def copy(self) -> InstanceProgress:
        return InstanceProgress(self.desired, self.state, self.failures, self.task_id)


@dataclass
class UpdateRecord:
    update_id: str
    job_key: str  # role/environment/name
    cluster: str
    status: UpdateStatus
    user: str
    created_at: float
    updated_at: float
    settings: UpdateSettings
    desired_config_id: int
    desired_instances: int
    initial: dict[int, int]
    scope: dict[str, list[int]]
    progress: dict[int, InstanceProgress]
    groups_started: int = 0
    last_pulse_at: float | None = None
    message: str | None = None

    def copy(self) -> UpdateRecord:
        """A copy whose progress can change without touching this one."""
        return UpdateRecord(
            self.update_id, self.job_key, self.cluster, self.status, self.user,
            self.created_at, self.updated_at, self.settings, self.desired_config_id,
            self.desired_instances, self.initial, self.scope,
            {i: p.copy() for i, p in self.progress.items()}, self.groups_started,
            self.last_pulse_at, self.message)


@dataclass(frozen=True)
class UpdateEvent:
    timestamp: float
    status: UpdateStatus
    user: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class InstanceEvent:
    instance: int
    timestamp: float
    action: InstanceAction


@dataclass
class UpdateWrite:
    """What one step of the controller persists, in the core's transaction."""

    records: list[UpdateRecord] = field(default_factory=list)
    new_records: list[UpdateRecord] = field(default_factory=list)
    events: list[tuple[str, UpdateEvent]] = field(default_factory=list)
    instance_events: list[tuple[str, InstanceEvent]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.records or self.new_records or self.events or self.instance_events)

    def apply(self, conn: sa.Connection) -> None:
        for record in self.new_records:
            conn.execute(records.insert().values(**_record_values(record)))
        for record in self.records:
            values = _record_values(record)
            del values["update_id"]
            conn.execute(records.update().where(
                records.c.update_id == record.update_id).values(**values))
        if self.events:
            conn.execute(events.insert(), [
                {"update_id": u, "timestamp": e.timestamp, "status": e.status.value,
                 "user": e.user, "message": e.message} for u, e in self.events])
        if self.instance_events:
            # Straight to the driver: thousands of rows per round in a large update.
            stmt = instance_events.insert().compile(
                dialect=conn.dialect,
                column_keys=["update_id", "instance", "timestamp", "action"])
            rows = [(u, e.instance, e.timestamp, e.action.value)
                    for u, e in self.instance_events]
            if stmt.positiontup is not None:
                conn.exec_driver_sql(stmt.string, rows)
            else:
                conn.exec_driver_sql(stmt.string, [
                    dict(zip(("update_id", "instance", "timestamp", "action"), r, strict=True))
                    for r in rows])


def _progress_json(progress: dict[int, InstanceProgress]) -> str:
    return json.dumps({str(i): [p.desired, p.state, p.failures, p.task_id]
                       for i, p in progress.items()}, separators=(",", ":"))


def _record_values(r: UpdateRecord) -> dict[str, Any]:
    return {
        "update_id": r.update_id, "job_key": r.job_key, "cluster": r.cluster,
        "status": r.status.value, "user": r.user, "message": r.message,
        "created_at": r.created_at, "updated_at": r.updated_at,
        "settings": json.dumps(r.settings.to_json()), "desired_config_id": r.desired_config_id,
        "desired_instances": r.desired_instances,
        "initial": json.dumps({str(k): v for k, v in r.initial.items()}),
        "scope": json.dumps(r.scope), "progress": _progress_json(r.progress),
        "groups_started": r.groups_started, "last_pulse_at": r.last_pulse_at,
    }


def _record(row: sa.Row[Any]) -> UpdateRecord:
    progress = {int(k): InstanceProgress(v[0], v[1], v[2], v[3])
                for k, v in json.loads(row.progress).items()}
    return UpdateRecord(
        update_id=row.update_id, job_key=row.job_key, cluster=row.cluster,
        status=UpdateStatus(row.status), user=row.user, created_at=row.created_at,
        updated_at=row.updated_at, settings=UpdateSettings.from_json(json.loads(row.settings)),
        desired_config_id=row.desired_config_id, desired_instances=row.desired_instances,
        initial={int(k): int(v) for k, v in json.loads(row.initial).items()},
        scope=json.loads(row.scope), progress=progress, groups_started=row.groups_started,
        last_pulse_at=row.last_pulse_at, message=row.message)


class UpdateReader:
    """Queries over the update tables."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def _read(self, stmt: sa.Executable) -> list[sa.Row[Any]]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(stmt))
        except sa.exc.SQLAlchemyError as e:
            raise StorageError(f"storage read failed: {e}") from e

    def records(self, *, update_id: str | None = None, job_key: str | None = None,
                statuses: Iterable[UpdateStatus] | None = None) -> list[UpdateRecord]:
        """Matching updates, newest first."""
        stmt = sa.select(records).order_by(records.c.created_at.desc(),
                                           records.c.update_id)
        if update_id is not None:
            stmt = stmt.where(records.c.update_id == update_id)
        if job_key is not None:
            stmt = stmt.where(records.c.job_key == job_key)
        if statuses is not None:
            stmt = stmt.where(records.c.status.in_([s.value for s in statuses]))
        return [_record(r) for r in self._read(stmt)]

    def events(self, update_id: str) -> list[UpdateEvent]:
        stmt = sa.select(events).where(events.c.update_id == update_id).order_by(
            events.c.event_id)
        return [UpdateEvent(r.timestamp, UpdateStatus(r.status), r.user, r.message)
                for r in self._read(stmt)]

    def instance_events(self, update_id: str) -> list[InstanceEvent]:
        stmt = sa.select(instance_events).where(
            instance_events.c.update_id == update_id).order_by(instance_events.c.event_id)
        return [InstanceEvent(r.instance, r.timestamp, InstanceAction(r.action))
                for r in self._read(stmt)]


def config_ids(progress: Sequence[InstanceProgress]) -> set[int]:
    return {p.desired for p in progress if p.desired is not None}
