"""The store: the database and one repository per aggregate, with typed methods.

Reads open their own short connection; every write happens inside ``Store.transaction()``,
so one operation (a scheduling round: thousands of state changes and their events) is one
commit. No SQL lives outside ``storage/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from aurora_provider.framework.storage.cron import CronRepository
from aurora_provider.framework.storage.database import Database, Transaction, connect
from aurora_provider.framework.storage.jobs import JobRepository
from aurora_provider.framework.storage.maintenance import MaintenanceRepository
from aurora_provider.framework.storage.quotas import QuotaRepository
from aurora_provider.framework.storage.restarts import RestartRepository
from aurora_provider.framework.storage.scheduler_state import SchedulerStateRepository
from aurora_provider.framework.storage.tasks import TaskRepository
from aurora_provider.framework.storage.updates import UpdateRepository


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.jobs = JobRepository(db)
        self.tasks = TaskRepository(db)
        self.restarts = RestartRepository(db)
        self.updates = UpdateRepository(db)
        self.cron = CronRepository(db)
        self.quotas = QuotaRepository(db)
        self.maintenance = MaintenanceRepository(db)
        self.state = SchedulerStateRepository(db)

    @property
    def engine(self) -> sa.Engine:
        return self.db.engine

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.db.transaction() as tx:
            yield tx

    def close(self) -> None:
        """Close every pooled connection (a stopped scheduler holds no file open)."""
        self.db.dispose()


def open_store(url: str) -> Store:
    """Connect to ``url`` (any SQLAlchemy URL; SQLite gets WAL) and apply migrations."""
    return Store(connect(url))
