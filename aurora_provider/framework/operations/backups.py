"""Backups of the scheduler's store, periodic and on request, and restoring one into an
empty work dir.

A SQLite store is copied with SQLite's online backup API (a consistent snapshot while the
scheduler keeps writing); any other database is exported table by table, as JSON, inside one
read transaction. Either kind restores into ``WORK_DIR/scheduler.db``, a SQLite store that a
scheduler started with ``--work-dir WORK_DIR`` opens (and migrates) as usual.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from aurora_provider.api.errors import BackupFailed, BackupNotFound, InvalidRequest
from aurora_provider.api.models.recovery import BACKUP_ID_PATTERN
from aurora_provider.framework.private import create_private, write_private
from aurora_provider.framework.storage import snapshots
from aurora_provider.framework.storage.store import Store, open_store

log = logging.getLogger(__name__)

DB_NAME = "scheduler.db"
BACKUP_ID = re.compile(BACKUP_ID_PATTERN)


@dataclass(frozen=True)
class BackupInfo:
    backup_id: str
    created_at: float
    size_bytes: int
    format: str  # sqlite or json


def default_backup_dir(store: Store) -> Path | None:
    """``backups/`` next to a SQLite database; other databases need --backup-dir."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "backups"
    return None


class Backups:
    """Backups of ``store`` kept as files in ``directory``; periodic ones as a round hook."""

    def __init__(self, store: Store, directory: Path | None, clock: Callable[[], float], *,
                 interval_secs: float = 0.0, kept: int = 48) -> None:
        self._store = store
        self.directory = directory
        self._clock = clock
        self._interval = interval_secs
        self._kept = kept
        self._last = clock()  # the first periodic backup comes one interval on

    def _dir(self) -> Path:
        if self.directory is None:
            raise InvalidRequest("no backup directory is configured (start the scheduler with "
                                 "--backup-dir DIR)")
        # A backup is the whole store, secrets included: only the scheduler's user reads it.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.directory

    def before_round(self) -> None:
        """A periodic backup when one is due, then old ones pruned."""
        now = self._clock()
        if self._interval <= 0 or self.directory is None or now - self._last < self._interval:
            return
        self._last = now
        made = self.backup_now()
        pruned = self.prune(self._kept)
        log.info("periodic backup %s written (%d old ones pruned)", made.backup_id, len(pruned))

    def backup_now(self) -> BackupInfo:
        try:
            return self._backup_now()
        except (OSError, sqlite3.Error, sa.exc.SQLAlchemyError) as e:
            raise BackupFailed(f"backup failed: {' '.join(str(e).split())}") from e

    def _backup_now(self) -> BackupInfo:
        directory = self._dir()
        backup_id = f"backup-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
        if self._store.engine.dialect.name == "sqlite":
            target = directory / f"{backup_id}.db"
            partial = target.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            create_private(partial)  # SQLite takes an empty file as an empty database
            snapshots.sqlite_backup(self._store.db, partial)
            os.replace(partial, target)
        else:
            target = directory / f"{backup_id}.json"
            write_private(target, json.dumps(snapshots.export_tables(self._store.db)))
        return _info(target)

    def available(self) -> list[BackupInfo]:
        if self.directory is None or not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir()
                 if p.suffix in (".db", ".json") and BACKUP_ID.match(p.stem)]
        return sorted((_info(p) for p in found), key=lambda b: b.backup_id)

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` backups; the deleted ids."""
        doomed = self.available()[:-keep] if keep > 0 else self.available()
        for b in doomed:
            for suffix in (".db", ".json"):
                (self._dir() / f"{b.backup_id}{suffix}").unlink(missing_ok=True)
        return [b.backup_id for b in doomed]

    def path(self, backup_id: str) -> Path:
        if not BACKUP_ID.match(backup_id):
            raise InvalidRequest(f"backup id {backup_id!r} is malformed "
                                 "(expected backup-YYYYMMDDTHHMMSSffffffZ)")
        for suffix in (".db", ".json"):
            candidate = self._dir() / f"{backup_id}{suffix}"
            if candidate.exists():
                return candidate
        raise BackupNotFound(f"no backup {backup_id} in {self._dir()}")

    def restore(self, backup_id: str, work_dir: Path) -> Path:
        return restore_backup(self.path(backup_id), work_dir)


def _info(path: Path) -> BackupInfo:
    st = path.stat()
    return BackupInfo(path.stem, st.st_mtime, st.st_size,
                      "sqlite" if path.suffix == ".db" else "json")


def restore_backup(backup: Path, work_dir: Path) -> Path:
    """Write ``backup`` as the store of the empty ``work_dir``; the database's path."""
    try:
        return _restore(backup, work_dir)
    except (OSError, sqlite3.Error) as e:
        raise BackupFailed(f"cannot restore {backup.name} into {work_dir}: {e}") from e


def _restore(backup: Path, work_dir: Path) -> Path:
    if not work_dir.is_absolute():
        raise InvalidRequest(f"work dir {str(work_dir)!r} must be an absolute path")
    if work_dir.exists() and (not work_dir.is_dir() or any(work_dir.iterdir())):
        raise BackupFailed(f"work dir {work_dir} is not empty: restore into an empty directory")
    if backup.suffix != ".db":
        try:
            export = json.loads(backup.read_text())
        except (OSError, ValueError) as e:
            raise BackupFailed(f"backup {backup} cannot be read: {e}") from e
        if not isinstance(export, dict) or export.get("format") != snapshots.EXPORT_FORMAT:
            raise BackupFailed(f"backup {backup} is not a scheduler export")
    work_dir.mkdir(parents=True, exist_ok=True)
    target = work_dir / DB_NAME
    if backup.suffix == ".db":
        snapshots.copy_sqlite_file(backup, target)
        open_store(f"sqlite:///{target}").close()  # apply newer migrations now
        return target
    store = open_store(f"sqlite:///{target}")
    try:
        snapshots.import_tables(store.db, export)
    finally:
        store.close()
    return target
