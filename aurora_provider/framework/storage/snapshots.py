"""Whole-database copies, for backups: SQLite's online backup, or a JSON export of every
table (for other databases), loading either into a fresh SQLite store, and replacing a
live store's contents with an export (a committed recovery)."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.storage.database import Database

EXPORT_FORMAT = "aurora-scheduler-export/1"


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "$b64" in value:
        return base64.b64decode(value["$b64"])
    return value


def export_tables(db: Database) -> dict[str, Any]:
    """Every table of the database (reflected, so it holds what the migrations made), read
    in one transaction: one consistent view while the store keeps being written."""
    meta = sa.MetaData()
    tables: dict[str, list[dict[str, Any]]] = {}
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # READ COMMITTED: a view per statement
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if conn.dialect.name == "sqlite" and not _in_transaction(conn):
                conn.exec_driver_sql("BEGIN")  # its driver begins them for writes only
            meta.reflect(conn)
            for table in meta.sorted_tables:
                tables[table.name] = [{k: _encode(v) for k, v in row._mapping.items()}
                                      for row in conn.execute(sa.select(table))]
    return {"format": EXPORT_FORMAT, "tables": tables}


def _in_transaction(conn: sa.Connection) -> bool:
    driver = conn.connection.driver_connection
    return bool(getattr(driver, "in_transaction", False))


def import_tables(db: Database, export: dict[str, Any]) -> None:
    """Load an export into a freshly migrated (empty) database."""
    meta = sa.MetaData()
    with db.engine.begin() as conn:
        meta.reflect(conn)
        _fill(conn, _data_tables(meta), export)


def _data_tables(meta: sa.MetaData) -> list[sa.Table]:
    """The tables in dependency order; the database's own migrations decide its version,
    and its own fence stays (a restored epoch would let a deposed leader write again)."""
    return [t for t in meta.sorted_tables if t.name not in ("alembic_version", "leadership")]


def _fill(conn: sa.Connection, tables: list[sa.Table], export: dict[str, Any]) -> None:
    for table in tables:
        rows = export["tables"].get(table.name) or []
        columns = set(table.c.keys())
        if rows:
            conn.execute(table.insert(), [
                {k: _decode(v) for k, v in row.items() if k in columns} for row in rows])
    _continue_ids(conn, tables)


def _continue_ids(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL numbers new rows from sequences, which rows inserted with their ids leave
    behind: each is set to go on after its table's largest id (as SQLite's do by
    themselves)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(sa.select(
                sa.func.pg_get_serial_sequence(table.name, column.name))).scalar()
            if sequence is not None:
                after = sa.select(sa.func.coalesce(sa.func.max(column), 0) + 1)
                conn.execute(sa.select(sa.func.setval(sequence, after.scalar_subquery(),
                                                      False)))


def sqlite_backup(db: Database, target: Path) -> None:
    """A consistent copy of a SQLite store while it keeps being written (``target`` must not
    exist yet, or be an empty file)."""
    raw = db.engine.raw_connection()
    try:
        source = raw.driver_connection
        if not isinstance(source, sqlite3.Connection):
            raise sqlite3.Error("the SQLite driver gave no sqlite3 connection to back up")
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        raw.close()


def copy_sqlite_file(source: Path, target: Path) -> None:
    """Copy the SQLite database at ``source`` into ``target`` (read-only on the source)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dest = sqlite3.connect(target)
    try:
        src.backup(dest)
    finally:
        dest.close()
        src.close()


def replace_tables(db: Database, export: dict[str, Any]) -> None:
    """Make ``db`` hold exactly ``export`` (its migrations kept): every table emptied and
    refilled in one transaction, so a failure leaves it as it was."""
    meta = sa.MetaData()
    with db.engine.begin() as conn:
        meta.reflect(conn)
        tables = _data_tables(meta)
        for table in reversed(tables):  # children before the tables they refer to
            conn.execute(table.delete())
        _fill(conn, tables, export)
