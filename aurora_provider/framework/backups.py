"""Backups of the scheduler's store, and restoring one into an empty work dir.

A SQLite store is copied with SQLite's online backup API (a consistent snapshot while the
scheduler keeps writing); any other database is exported table by table, as JSON, inside one
read transaction. Either kind restores into ``WORK_DIR/scheduler.db``, a SQLite store that a
scheduler started with ``--work-dir WORK_DIR`` opens (and migrates) as usual.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.errors import InvalidRequest, NotFound, SchedulerError
from aurora_provider.framework.storage import Store, open_store

DB_NAME = "scheduler.db"
_ID = re.compile(r"^backup-\d{8}T\d{6}\d{6}Z$")
EXPORT_FORMAT = "aurora-scheduler-export/1"


class BackupError(SchedulerError):
    code = "BACKUP_ERROR"
    status = 409


@dataclass(frozen=True)
class BackupInfo:
    backup_id: str
    created_at: float
    size_bytes: int
    format: str  # sqlite or json


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "$b64" in value:
        return base64.b64decode(value["$b64"])
    return value


def export_tables(engine: sa.Engine) -> dict[str, Any]:
    """Every table of the database (reflected, so other features' tables come along)."""
    meta = sa.MetaData()
    tables: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:  # one transaction: one consistent view
        meta.reflect(conn)
        for table in meta.sorted_tables:
            tables[table.name] = [{k: _encode(v) for k, v in row._mapping.items()}
                                  for row in conn.execute(sa.select(table))]
    return {"format": EXPORT_FORMAT, "tables": tables}


def import_tables(engine: sa.Engine, export: dict[str, Any]) -> None:
    """Load an export into a freshly migrated (empty) database."""
    meta = sa.MetaData()
    with engine.begin() as conn:
        meta.reflect(conn)
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue  # the target's own migrations decide its version
            rows = export["tables"].get(table.name) or []
            columns = set(table.c.keys())
            if rows:
                conn.execute(table.insert(), [
                    {k: _decode(v) for k, v in row.items() if k in columns} for row in rows])


class Backups:
    """Backups of ``store`` kept as files in ``directory``."""

    def __init__(self, store: Store, directory: Path | None) -> None:
        self.store = store
        self.directory = directory

    def _dir(self) -> Path:
        if self.directory is None:
            raise InvalidRequest("no backup directory is configured (start the scheduler with "
                                 "--backup-dir DIR)")
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory

    def backup_now(self) -> BackupInfo:
        try:
            return self._backup_now()
        except (OSError, sqlite3.Error) as e:
            raise BackupError(f"backup failed: {e}") from e

    def _backup_now(self) -> BackupInfo:
        directory = self._dir()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup_id = f"backup-{stamp}"
        engine = self.store.engine
        if engine.dialect.name == "sqlite":
            target = directory / f"{backup_id}.db"
            self._sqlite_backup(target)
        else:
            target = directory / f"{backup_id}.json"
            partial = target.with_suffix(".partial")
            partial.write_text(json.dumps(export_tables(engine)))
            os.replace(partial, target)
        return self._info(target)

    def _sqlite_backup(self, target: Path) -> None:
        partial = target.with_suffix(".partial")
        raw = self.store.engine.raw_connection()
        try:
            source = raw.driver_connection
            if not isinstance(source, sqlite3.Connection):
                raise BackupError("the SQLite driver gave no sqlite3 connection to back up")
            dest = sqlite3.connect(partial)
            try:
                source.backup(dest)
            finally:
                dest.close()
        finally:
            raw.close()
        os.replace(partial, target)

    @staticmethod
    def _info(path: Path) -> BackupInfo:
        st = path.stat()
        return BackupInfo(path.stem, st.st_mtime, st.st_size,
                          "sqlite" if path.suffix == ".db" else "json")

    def available(self) -> list[BackupInfo]:
        if self.directory is None or not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir()
                 if p.suffix in (".db", ".json") and _ID.match(p.stem)]
        return sorted((self._info(p) for p in found), key=lambda b: b.backup_id)

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` backups; returns the deleted ids."""
        doomed = self.available()[:-keep] if keep > 0 else self.available()
        for b in doomed:
            for suffix in (".db", ".json"):
                (self._dir() / f"{b.backup_id}{suffix}").unlink(missing_ok=True)
        return [b.backup_id for b in doomed]

    def path(self, backup_id: str) -> Path:
        if not _ID.match(backup_id):
            raise InvalidRequest(f"backup id {backup_id!r} is malformed "
                                 "(expected backup-YYYYMMDDTHHMMSSffffffZ)")
        for suffix in (".db", ".json"):
            candidate = self._dir() / f"{backup_id}{suffix}"
            if candidate.exists():
                return candidate
        raise NotFound(f"no backup {backup_id} in {self._dir()}")

    def restore(self, backup_id: str, work_dir: Path) -> Path:
        return restore_backup(self.path(backup_id), work_dir)


def restore_backup(backup: Path, work_dir: Path) -> Path:
    """Write ``backup`` as the store of the empty ``work_dir``; returns the database path."""
    try:
        return _restore(backup, work_dir)
    except (OSError, sqlite3.Error) as e:
        raise BackupError(f"cannot restore {backup.name} into {work_dir}: {e}") from e


def _restore(backup: Path, work_dir: Path) -> Path:
    if not work_dir.is_absolute():
        raise InvalidRequest(f"work dir {str(work_dir)!r} must be an absolute path")
    if work_dir.exists() and (not work_dir.is_dir() or any(work_dir.iterdir())):
        raise BackupError(f"work dir {work_dir} is not empty: restore into an empty directory")
    work_dir.mkdir(parents=True, exist_ok=True)
    target = work_dir / DB_NAME
    if backup.suffix == ".db":
        source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        open_store(f"sqlite:///{target}").engine.dispose()  # apply newer migrations now
        return target
    try:
        export = json.loads(backup.read_text())
    except (OSError, ValueError) as e:
        raise BackupError(f"backup {backup} cannot be read: {e}") from e
    if not isinstance(export, dict) or export.get("format") != EXPORT_FORMAT:
        raise BackupError(f"backup {backup} is not a scheduler export")
    store = open_store(f"sqlite:///{target}")
    try:
        import_tables(store.engine, export)
    finally:
        store.engine.dispose()
    return target
