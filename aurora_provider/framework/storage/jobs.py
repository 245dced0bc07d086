"""Jobs and their task configurations.

A configuration is stored once per job and canonical text, and parsed into a typed
``JobConfig`` once: configurations never change, so the parsed ones are cached.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aurora_provider.api.errors import StorageError
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.database import Database, Transaction
from aurora_provider.framework.storage.rows import JobRow
from aurora_provider.framework.storage.tables import jobs, task_configs


@dataclass(frozen=True)
class StoredConfig:
    """One configuration a job has had: when the scheduler first saw it, and what it is."""

    config_id: int
    created_at: float
    config: JobConfig


def _job(r: sa.Row[Any]) -> JobRow:
    return JobRow(r.job_key, r.cluster, r.config_id, r.created_at, r.updated_at)


class JobRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._configs: dict[int, JobConfig] = {}
        self._lock = threading.Lock()

    # -- jobs ----------------------------------------------------------------------------

    def job(self, job_key: str) -> JobRow | None:
        rows = self._db.read(sa.select(jobs).where(jobs.c.job_key == job_key))
        return _job(rows[0]) if rows else None

    def jobs(self) -> list[JobRow]:
        return [_job(r) for r in self._db.read(sa.select(jobs).order_by(jobs.c.job_key))]

    def save(self, tx: Transaction, job: JobRow) -> None:
        tx.execute(jobs.delete().where(jobs.c.job_key == job.job_key))
        tx.execute(jobs.insert().values(
            job_key=job.job_key, cluster=job.cluster, config_id=job.config_id,
            created_at=job.created_at, updated_at=job.updated_at))

    def delete(self, tx: Transaction, job_key: str) -> None:
        tx.execute(jobs.delete().where(jobs.c.job_key == job_key))

    # -- configurations --------------------------------------------------------------------

    def add_config(self, tx: Transaction, config: JobConfig, now: float) -> int:
        """The id of this configuration of its job, stored the first time it is seen."""
        digest = hashlib.sha256(config.canonical.encode()).hexdigest()
        found = tx.scalar(sa.select(task_configs.c.config_id).where(
            task_configs.c.job_key == config.job_key, task_configs.c.digest == digest))
        if found is not None:
            return int(found)
        # Not cached here: the transaction may still roll back (and SQLite reuse the id).
        return tx.insert(task_configs, {
            "job_key": config.job_key, "digest": digest, "config": config.canonical,
            "created_at": now})

    def config(self, config_id: int) -> JobConfig:
        """A stored configuration, typed (parsed once)."""
        with self._lock:
            cached = self._configs.get(config_id)
        if cached is not None:
            return cached
        rows = self._db.read(sa.select(task_configs.c.config).where(
            task_configs.c.config_id == config_id))
        if not rows:
            raise StorageError(f"task configuration {config_id} is missing")
        return self._parsed(config_id, rows[0].config)

    def config_history(self, job_key: str, limit: int) -> list[StoredConfig]:
        """The job's configurations, newest first (at most ``limit``). Each is kept once,
        when first seen: going back to an earlier one (a rollback) adds no row."""
        rows = self._db.read(
            sa.select(task_configs.c.config_id, task_configs.c.created_at,
                      task_configs.c.config)
            .where(task_configs.c.job_key == job_key)
            .order_by(task_configs.c.config_id.desc()).limit(limit))
        return [StoredConfig(r.config_id, r.created_at, self._parsed(r.config_id, r.config))
                for r in rows]

    def _parsed(self, config_id: int, text: str) -> JobConfig:
        with self._lock:
            cached = self._configs.get(config_id)
        if cached is not None:
            return cached
        try:
            parsed = JobConfig.from_text(text)
        except (KeyError, TypeError, ValueError) as e:
            raise StorageError(f"task configuration {config_id} cannot be read: {e}") from e
        with self._lock:
            self._configs[config_id] = parsed
        return parsed
