"""Durable storage of jobs, tasks and task events (SQLAlchemy Core + Alembic)."""

from __future__ import annotations

from aurora_provider.framework.storage.store import (
    JobRow,
    RestartRow,
    Store,
    TaskRow,
    TaskWrite,
    open_store,
)

__all__ = ["JobRow", "RestartRow", "Store", "TaskRow", "TaskWrite", "open_store"]
