"""The store: typed rows in, typed rows out, writes grouped in transactions.

Reads open their own short connection; every write happens inside ``Store.transaction()``
so one scheduling round (thousands of state changes and their events) is one commit.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from aurora_provider.framework.errors import StorageError
from aurora_provider.framework.state import TaskState
from aurora_provider.framework.storage import schema

_MIGRATIONS = Path(__file__).parent / "migrations"
# A dict lookup: calling the enum costs more than the rest of reading a row.
_STATE = {s.value: s for s in TaskState}


@dataclass(frozen=True)
class JobRow:
    job_key: str  # role/environment/name
    cluster: str
    config_id: int
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class TaskRow:
    task_id: str
    job_key: str
    instance: int
    config_id: int
    status: TaskState
    created_at: float
    status_at: float
    agent_id: str | None = None
    host: str | None = None
    ports: dict[str, int] = field(default_factory=dict)
    failure_count: int = 0
    ancestor_id: str | None = None
    throttle_until: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class EventRow:
    task_id: str
    timestamp: float
    status: TaskState
    message: str | None = None


@dataclass(frozen=True)
class RestartRow:
    restart_id: int
    job_key: str
    state: str
    batch_size: int
    pending: list[int]
    in_flight: dict[int, str]
    done: list[int]
    started_at: float
    updated_at: float
    message: str | None = None


@dataclass
class TaskWrite:
    """Rows and events collected during one round, written in one transaction."""

    new: list[TaskRow] = field(default_factory=list)
    changed: list[TaskRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.events)


def config_digest(config_json: str) -> str:
    return hashlib.sha256(config_json.encode()).hexdigest()


def _task_values(row: TaskRow) -> dict[str, Any]:
    return {
        "task_id": row.task_id, "job_key": row.job_key, "instance": row.instance,
        "config_id": row.config_id, "status": row.status._value_, "agent_id": row.agent_id,
        "host": row.host, "ports": json.dumps(row.ports), "failure_count": row.failure_count,
        "ancestor_id": row.ancestor_id, "created_at": row.created_at,
        "status_at": row.status_at, "throttle_until": row.throttle_until,
        "message": row.message,
    }


def _task_row(r: sa.Row[Any]) -> TaskRow:
    # Positional, in the table's column order (schema.tasks): much faster than by name.
    return TaskRow(
        task_id=r.task_id, job_key=r.job_key, instance=r.instance, config_id=r.config_id,
        status=_STATE[r.status], created_at=r.created_at, status_at=r.status_at,
        agent_id=r.agent_id, host=r.host, ports=json.loads(r.ports),
        failure_count=r.failure_count, ancestor_id=r.ancestor_id,
        throttle_until=r.throttle_until, message=r.message,
    )


def _restart_row(r: sa.Row[Any]) -> RestartRow:
    return RestartRow(
        restart_id=r.restart_id, job_key=r.job_key, state=r.state, batch_size=r.batch_size,
        pending=json.loads(r.pending),
        in_flight={int(k): v for k, v in json.loads(r.in_flight).items()},
        done=json.loads(r.done), started_at=r.started_at, updated_at=r.updated_at,
        message=r.message,
    )


class Transaction:
    """Writes bound to one open transaction; obtained from ``Store.transaction()``."""

    def __init__(self, conn: sa.Connection, store: Store) -> None:
        self._conn = conn
        self._store = store

    @property
    def connection(self) -> sa.Connection:
        """The open connection, for feature modules that write their own tables atomically."""
        return self._conn

    def add_config(self, job_key: str, config_json: str, now: float) -> int:
        """The id of this configuration, stored once per job and digest."""
        digest = config_digest(config_json)
        t = schema.task_configs
        found = self._conn.execute(
            sa.select(t.c.config_id).where(t.c.job_key == job_key, t.c.digest == digest)
        ).scalar()
        if found is not None:
            return int(found)
        result = self._conn.execute(t.insert().values(
            job_key=job_key, digest=digest, config=config_json, created_at=now))
        return _inserted_id(result)

    def save_job(self, job: JobRow) -> None:
        j = schema.jobs
        self._conn.execute(j.delete().where(j.c.job_key == job.job_key))
        self._conn.execute(j.insert().values(
            job_key=job.job_key, cluster=job.cluster, config_id=job.config_id,
            created_at=job.created_at, updated_at=job.updated_at))

    def delete_job(self, job_key: str) -> None:
        self._conn.execute(schema.jobs.delete().where(schema.jobs.c.job_key == job_key))

    def write_tasks(self, write: TaskWrite) -> None:
        t = schema.tasks
        if write.new:
            _execute_many(self._conn, t.insert(), [_task_values(r) for r in write.new])
        if write.changed:
            stmt = t.update().where(t.c.task_id == sa.bindparam("b_task_id")).values(
                status=sa.bindparam("status"), agent_id=sa.bindparam("agent_id"),
                host=sa.bindparam("host"), ports=sa.bindparam("ports"),
                failure_count=sa.bindparam("failure_count"),
                status_at=sa.bindparam("status_at"),
                throttle_until=sa.bindparam("throttle_until"),
                message=sa.bindparam("message"),
            )
            params = []
            for row in write.changed:
                values = _task_values(row)
                values["b_task_id"] = values.pop("task_id")
                params.append(values)
            _execute_many(self._conn, stmt, params)
        if write.events:
            _execute_many(self._conn, schema.task_events.insert(), [
                {"task_id": e.task_id, "timestamp": e.timestamp, "status": e.status._value_,
                 "message": e.message} for e in write.events])

    def delete_tasks(self, task_ids: Sequence[str]) -> None:
        for chunk in _chunks(task_ids, 500):
            self._conn.execute(schema.task_events.delete().where(
                schema.task_events.c.task_id.in_(chunk)))
            self._conn.execute(schema.tasks.delete().where(schema.tasks.c.task_id.in_(chunk)))

    def add_restart(self, job_key: str, batch_size: int, instances: Sequence[int],
                    now: float) -> int:
        result = self._conn.execute(schema.restarts.insert().values(
            job_key=job_key, state="ACTIVE", batch_size=batch_size,
            pending=json.dumps(list(instances)), in_flight="{}", done="[]",
            started_at=now, updated_at=now))
        return _inserted_id(result)

    def save_restart(self, row: RestartRow) -> None:
        r = schema.restarts
        self._conn.execute(r.update().where(r.c.restart_id == row.restart_id).values(
            state=row.state, pending=json.dumps(row.pending),
            in_flight=json.dumps({str(k): v for k, v in row.in_flight.items()}),
            done=json.dumps(row.done), updated_at=row.updated_at, message=row.message))


def _execute_many(conn: sa.Connection, stmt: sa.Insert | sa.Update,
                  params: list[dict[str, Any]]) -> None:
    """``executemany`` straight to the driver: SQLAlchemy's per-row parameter processing
    costs more than SQLite's own work for the thousands of rows of a scheduling round."""
    if not params:
        return
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(params[0]))
    order = compiled.positiontup
    if order is not None:  # qmark/format paramstyles (SQLite, psycopg)
        conn.exec_driver_sql(compiled.string, [tuple(p[k] for k in order) for p in params])
    else:
        conn.exec_driver_sql(compiled.string, params)


def _inserted_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise StorageError("the database returned no id for an inserted row")
    return int(key[0])


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Store:
    """Typed access to the scheduler's database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._configs: dict[int, dict[str, Any]] = {}
        self._configs_lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        try:
            with self.engine.begin() as conn:
                yield Transaction(conn, self)
        except sa.exc.SQLAlchemyError as e:
            raise StorageError(f"storage write failed: {e}") from e

    def _read(self, stmt: sa.Executable) -> list[sa.Row[Any]]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(stmt))
        except sa.exc.SQLAlchemyError as e:
            raise StorageError(f"storage read failed: {e}") from e

    # -- jobs and configurations -------------------------------------------------------

    def job(self, job_key: str) -> JobRow | None:
        rows = self._read(sa.select(schema.jobs).where(schema.jobs.c.job_key == job_key))
        return JobRow(**rows[0]._mapping) if rows else None

    def jobs(self) -> list[JobRow]:
        return [JobRow(**r._mapping) for r in self._read(
            sa.select(schema.jobs).order_by(schema.jobs.c.job_key))]

    def config(self, config_id: int) -> dict[str, Any]:
        """The wire form of a task configuration (immutable, so cached)."""
        with self._configs_lock:
            cached = self._configs.get(config_id)
        if cached is not None:
            return cached
        t = schema.task_configs
        rows = self._read(sa.select(t.c.config).where(t.c.config_id == config_id))
        if not rows:
            raise StorageError(f"task configuration {config_id} is missing")
        loaded: dict[str, Any] = json.loads(rows[0].config)
        with self._configs_lock:
            self._configs[config_id] = loaded
        return loaded

    # -- tasks and events ----------------------------------------------------------------

    def tasks(self, *, job_key: str | None = None,
              statuses: Iterable[TaskState] | None = None,
              task_ids: Sequence[str] | None = None) -> list[TaskRow]:
        t = schema.tasks
        stmt = sa.select(t)
        if job_key is not None:
            stmt = stmt.where(t.c.job_key == job_key)
        if statuses is not None:
            stmt = stmt.where(t.c.status.in_([s.value for s in statuses]))
        if task_ids is not None:
            found: list[TaskRow] = []
            for chunk in _chunks(task_ids, 500):
                found.extend(_task_row(r) for r in self._read(stmt.where(t.c.task_id.in_(chunk))))
            return found
        return [_task_row(r) for r in self._read(stmt.order_by(t.c.instance, t.c.created_at))]

    def task(self, task_id: str) -> TaskRow | None:
        found = self.tasks(task_ids=[task_id])
        return found[0] if found else None

    def events(self, *, job_key: str | None = None,
               task_ids: Sequence[str] | None = None) -> dict[str, list[EventRow]]:
        """Event histories in time order, by task id."""
        e, t = schema.task_events, schema.tasks
        stmt = sa.select(e.c.task_id, e.c.timestamp, e.c.status, e.c.message).order_by(
            e.c.task_id, e.c.event_id)
        rows: list[sa.Row[Any]] = []
        if job_key is not None:
            # IN (subquery) walks the task_id index; a join sorts every event of the job.
            owned = sa.select(t.c.task_id).where(t.c.job_key == job_key)
            rows = self._read(stmt.where(e.c.task_id.in_(owned)))
        elif task_ids is not None:
            for chunk in _chunks(task_ids, 500):
                rows.extend(self._read(stmt.where(e.c.task_id.in_(chunk))))
        found: dict[str, list[EventRow]] = {}
        for row in rows:
            task_id, timestamp, status, message = tuple(row)
            found.setdefault(task_id, []).append(
                EventRow(task_id, timestamp, _STATE[status], message))
        return found

    def count_by_status(self) -> dict[str, int]:
        t = schema.tasks
        rows = self._read(sa.select(t.c.status, sa.func.count().label("n")).group_by(t.c.status))
        return {str(r.status): int(r.n) for r in rows}

    # -- rolling restarts ------------------------------------------------------------------

    def restarts(self, *, job_key: str | None = None, active_only: bool = False
                 ) -> list[RestartRow]:
        r = schema.restarts
        stmt = sa.select(r).order_by(r.c.restart_id)
        if job_key is not None:
            stmt = stmt.where(r.c.job_key == job_key)
        if active_only:
            stmt = stmt.where(r.c.state == "ACTIVE")
        return [_restart_row(row) for row in self._read(stmt)]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")  # feature branches of the schema may each have a head


def open_store(url: str) -> Store:
    """Connect to ``url`` (any SQLAlchemy URL; SQLite gets WAL) and apply migrations."""
    try:
        engine = sa.create_engine(url)
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        migrate(engine)
    except (sa.exc.SQLAlchemyError, sa.exc.ArgumentError, ImportError) as e:
        detail = " ".join(str(e).split())
        raise StorageError(f"cannot open the database {url!r}: {detail}") from e
    return Store(engine)
