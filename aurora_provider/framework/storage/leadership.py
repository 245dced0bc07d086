"""The store's fence: only the scheduler that leads may write.

ZooKeeper elects the leader, but a deposed leader may not know it yet (a long pause, a
partition): its session has expired and another replica leads, while its own threads still
hold work in flight. So leadership is also recorded in the store: a newly elected replica
takes the next epoch (one atomic UPDATE), and every write transaction of a fenced store first
checks, under a lock, that the epoch is still its own. A late write of the deposed leader then
fails inside its transaction, and nothing of it is committed.

The check holds a lock until the transaction ends, so a new leader's take waits for the
writes in flight and every write after it sees the new epoch: a shared row lock on
PostgreSQL (the leader's own transactions do not wait for each other), a write of the row on
SQLite (whose writers take turns anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from aurora_provider.api.errors import NotLeader, StorageError
from aurora_provider.framework.storage.tables import leadership

ROW = 1


@dataclass(frozen=True)
class Fence:
    """The epoch one replica took, and who it is (for the messages)."""

    epoch: int
    holder: str

    def check(self, conn: sa.Connection) -> None:
        """Raise ``NotLeader`` unless the store's epoch is still this one (inside the write
        transaction ``conn`` has open; the lock it takes lasts until that ends)."""
        row = leadership.c.id == ROW
        if conn.dialect.name == "sqlite":
            held = conn.execute(leadership.update().where(row, leadership.c.epoch == self.epoch)
                                .values(epoch=leadership.c.epoch)).rowcount == 1
        else:
            current = conn.execute(sa.select(leadership.c.epoch).where(row)
                                   .with_for_update(read=True)).scalar()
            held = current == self.epoch
        if not held:
            now = conn.execute(sa.select(leadership.c.epoch, leadership.c.holder)
                               .where(row)).one_or_none()
            taker = f"{now.holder} (epoch {now.epoch})" if now is not None else "another replica"
            raise NotLeader(f"write refused: this scheduler ({self.holder}, epoch "
                            f"{self.epoch}) no longer leads; {taker} took the store")


def take_epoch(engine: sa.Engine, holder: str, now: float) -> Fence:
    """Take the next epoch for ``holder`` (a newly elected leader): from now on the writes
    of every earlier epoch fail."""
    try:
        with engine.begin() as conn:
            epoch = conn.execute(
                leadership.update().where(leadership.c.id == ROW)
                .values(epoch=leadership.c.epoch + 1, holder=holder, taken_at=now)
                .returning(leadership.c.epoch)).scalar()
    except sa.exc.SQLAlchemyError as e:
        raise StorageError(f"cannot take the store's leadership epoch: "
                           f"{' '.join(str(e).split())}") from e
    if epoch is None:
        raise StorageError("the store has no leadership row (its migrations did not run)")
    return Fence(int(epoch), holder)


def current_epoch(engine: sa.Engine) -> tuple[int, str]:
    """The store's epoch and who took it (for status pages and tests)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(leadership.c.epoch, leadership.c.holder)
                           .where(leadership.c.id == ROW)).one()
    return int(row.epoch), str(row.holder)
