"""The database: one engine, short read connections, writes grouped in transactions.

Every read and every transaction goes through here, so a database error reaches callers as
one ``StorageError`` line whatever repository asked. Repositories (one per aggregate) read
with :meth:`Database.read` and write inside a :class:`Transaction` the caller opened, so the
changes of one operation commit together.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from aurora_provider.api.errors import NotLeader, StorageError, StoreFull
from aurora_provider.framework.private import create_private, keep_private
from aurora_provider.framework.storage.leadership import Fence
from aurora_provider.framework.storage.tables import metadata

MIGRATIONS = Path(__file__).parent / "migrations"


class Transaction:
    """Writes bound to one open transaction (from ``Database.transaction()``)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def execute(self, stmt: sa.Executable, params: Any = None) -> sa.CursorResult[Any]:
        return self._conn.execute(stmt, params)

    def scalar(self, stmt: sa.Executable) -> Any:
        return self._conn.execute(stmt).scalar()

    def insert(self, table: sa.Table, values: dict[str, Any]) -> int:
        """Insert one row; its integer primary key."""
        key = self._conn.execute(table.insert().values(**values)).inserted_primary_key
        if key is None:
            raise StorageError(f"the database returned no id for a row of {table.name}")
        return int(key[0])

    def encoder(self, column: sa.Column[Any]) -> Callable[[Any], Any]:
        """How ``column``'s type stores a value (JSON columns: their serialisation, the
        dialect's own: PostgreSQL's wraps the value for its driver), for the rows of
        ``insert_many`` and ``update_many``."""
        dialect = self._conn.dialect
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        return processor if processor is not None else _same

    def insert_many(self, table: sa.Table, columns: Sequence[str],
                    rows: Sequence[Sequence[Any]]) -> None:
        """Many rows (values in ``columns`` order, encoded) in one ``executemany``.

        Straight to the driver: SQLAlchemy's per-row parameter processing costs more than
        SQLite's own work for the thousands of rows of a scheduling round.
        """
        if rows:
            self._execute_many(table, None, tuple(columns), rows)

    def update_many(self, table: sa.Table, key: str, columns: Sequence[str],
                    rows: Sequence[Sequence[Any]]) -> None:
        """Update rows found by their ``key`` column: each row is its ``columns`` values
        (encoded), then its key."""
        if rows:
            self._execute_many(table, key, tuple(columns), rows)

    def _execute_many(self, table: sa.Table, key: str | None, columns: tuple[str, ...],
                      rows: Sequence[Sequence[Any]]) -> None:
        sql, names, pick = _compiled(self._conn.dialect, table, key, columns)
        if names is not None:  # a named paramstyle
            self._conn.exec_driver_sql(sql, [dict(zip(names, r, strict=True)) for r in rows])
            return
        if pick is not None:
            rows = [pick(r) for r in rows]
        self._conn.exec_driver_sql(sql, rows)


Compiled = tuple[str, tuple[str, ...] | None, Callable[[Sequence[Any]], Any] | None]
# (dialect, table, key, columns) -> the statement's SQL and how a row's values become its
# parameters. Compiling costs more than a round's few hundred rows; the statements are few.
_COMPILED: dict[tuple[str, str, str | None, tuple[str, ...]], Compiled] = {}


def _compiled(dialect: sa.Dialect, table: sa.Table, key: str | None,
              columns: tuple[str, ...]) -> Compiled:
    cache_key = (dialect.name, table.name, key, columns)
    found = _COMPILED.get(cache_key)
    if found is not None:
        return found
    names = list(columns)
    stmt: sa.Insert | sa.Update = table.insert()
    if key is not None:
        stmt = table.update().where(table.c[key] == sa.bindparam(f"b_{key}")).values(
            {c: sa.bindparam(c) for c in columns})
        names.append(f"b_{key}")
    compiled = stmt.compile(dialect=dialect, column_keys=names)
    order = compiled.positiontup
    pick: Callable[[Sequence[Any]], Any] | None = None
    if order is not None:
        positions = [names.index(k) for k in order]
        if positions != list(range(len(names))):
            getter = operator.itemgetter(*positions)
            pick = getter if len(positions) > 1 else (lambda r: (getter(r),))
    found = (compiled.string, tuple(names) if order is None else None, pick)
    _COMPILED[cache_key] = found
    return found


def _same(value: Any) -> Any:
    return value


class Database:
    """The engine, and the two ways to use it.

    A fenced database (``fence()``: the scheduler that leads) checks in every write
    transaction that its epoch still holds the store (``storage/leadership.py``); once it
    does not, or once ``revoke()`` said leadership is lost, every write is refused with
    ``NotLeader`` and ``on_deposed`` is told, once.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._fence: Fence | None = None
        self._revoked: str | None = None
        self._on_deposed: Callable[[str], None] = lambda _why: None

    def fence(self, fence: Fence, on_deposed: Callable[[str], None]) -> None:
        """Write only while ``fence`` holds the store; ``on_deposed(why)`` once it does not."""
        self._fence, self._on_deposed, self._revoked = fence, on_deposed, None

    def revoke(self, why: str) -> None:
        """Refuse every write from now on, without asking the store (leadership was lost)."""
        if self._revoked is None:
            self._revoked = why

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        if self._revoked is not None:
            raise NotLeader(f"write refused: {self._revoked}")
        try:
            with self.engine.begin() as conn:
                if self._fence is not None:
                    self._fence.check(conn)
                yield Transaction(conn)
        except NotLeader as e:
            first = self._revoked is None
            self.revoke(str(e))
            if first:
                self._on_deposed(str(e))
            raise
        except sa.exc.SQLAlchemyError as e:
            if _is_full(e):
                raise StoreFull(f"storage write refused, the store is full "
                                f"({_one_line(getattr(e, 'orig', None) or e)}): nothing was "
                                "written; free disk space (or raise the database's size "
                                "limit) and retry") from e
            raise StorageError(f"storage write failed: {_one_line(e)}") from e

    def read(self, stmt: sa.Executable) -> list[sa.Row[Any]]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(stmt))
        except sa.exc.SQLAlchemyError as e:
            raise StorageError(f"storage read failed: {_one_line(e)}") from e

    def dispose(self) -> None:
        self.engine.dispose()


def chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """Slices small enough for an ``IN (...)`` of any database."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


# SQLite's SQLITE_FULL (a full disk, or max_page_count reached) and PostgreSQL's disk_full.
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"


def _is_full(error: sa.exc.SQLAlchemyError) -> bool:
    """Whether a write failed because the database cannot grow."""
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL:
        return True
    if _PG_DISK_FULL in (getattr(orig, "pgcode", None), getattr(orig, "sqlstate", None)):
        return True
    return "database or disk is full" in str(error)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def alembic_config(conn: sa.Connection) -> Config:
    """Alembic's configuration for our migrations, on an open connection (no alembic.ini)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    cfg.attributes["target_metadata"] = metadata
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "heads")  # feature branches each have a head


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    parsed = sa.engine.make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" \
            or name.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(name)


def _private_sqlite(path: Path) -> None:
    """The store readable by the scheduler's user only: SQLite gives its -wal and -shm files
    the database file's mode, so the database is created 0600 before SQLite opens it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        keep_private(path.with_name(path.name + suffix), "store file")
    create_private(path)


# A replica must not hang for the kernel's TCP timeout on an unreachable PostgreSQL (libpq's
# drivers; the URL may set its own).
_PG_CONNECT_TIMEOUT_SECS = 10


def _connect_args(url: str) -> dict[str, Any]:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in (
            "psycopg", "psycopg2") and "connect_timeout" not in parsed.query:
        return {"connect_timeout": _PG_CONNECT_TIMEOUT_SECS}
    return {}


def connect(url: str) -> Database:
    """Connect to ``url`` (any SQLAlchemy URL; SQLite gets WAL and a 0600 file) and apply
    migrations."""
    try:
        path = sqlite_file(url)
        if path is not None:
            _private_sqlite(path)
        engine = sa.create_engine(url, connect_args=_connect_args(url))
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        migrate(engine)
    except (sa.exc.SQLAlchemyError, sa.exc.ArgumentError, ImportError, OSError) as e:
        # A connection error is the driver's own words (SQLAlchemy adds only a link).
        cause = e.orig if isinstance(e, sa.exc.OperationalError) and e.orig else e
        raise StorageError(f"cannot open the database {_shown(url)!r}: "
                           f"{_one_line(cause)}") from e
    return Database(engine)


def _shown(url: str) -> str:
    """``url`` as errors show it: without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url  # not a URL at all: nothing to hide in it
