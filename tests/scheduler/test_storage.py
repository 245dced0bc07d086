"""The store: migrations applied at open, batched writes, typed rows back."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from aurora_provider.framework import storage
from aurora_provider.framework.storage.database import alembic_config
from aurora_provider.framework.storage.rows import EventRow, TaskRow, TaskWrite
from aurora_provider.framework.storage.store import open_store
from aurora_provider.states.task import TaskState

pytestmark = pytest.mark.unit


def test_migrations_run_once_and_wal_is_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url)
    again = open_store(url)  # idempotent: already at head
    with again.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        versions = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    # Feature branches of the schema (updates, operations) each have a head: all are applied.
    migrations = Path(storage.__file__).parent / "migrations"
    assert versions == set(ScriptDirectory(str(migrations)).get_heads())
    assert "0009_sla_drain" in versions  # the operations branch's head
    assert store.jobs.jobs() == []


def test_batched_rows_round_trip(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    rows = [TaskRow(f"t{i}", "www/prod/x", i, 1, TaskState.PENDING, 1.0, 1.0)
            for i in range(1000)]
    with store.transaction() as tx:
        store.tasks.write(tx, TaskWrite(new=rows, events=[EventRow(r.task_id, 1.0, r.status)
                                                          for r in rows]))
    moved = [TaskRow(r.task_id, r.job_key, r.instance, 1, TaskState.ASSIGNED, 1.0, 2.0,
                     agent_id="a", host="h", ports={"http": 31000 + r.instance})
             for r in rows]
    with store.transaction() as tx:
        store.tasks.write(tx, TaskWrite(changed=moved))
    back = store.tasks.tasks(job_key="www/prod/x")
    assert len(back) == 1000 and back[7].ports == {"http": 31007}
    assert store.tasks.count_by_status() == {"ASSIGNED": 1000}
    assert len(store.tasks.events(job_key="www/prod/x")) == 1000
    with store.transaction() as tx:
        store.tasks.delete(tx, [r.task_id for r in rows[:600]])
    assert len(store.tasks.tasks()) == 400 and \
        len(store.tasks.events(task_ids=["t0", "t999"])) == 1


def test_the_migrations_match_the_tables(tmp_path: Path) -> None:
    """``alembic check``: the migrated schema is what ``storage.tables`` declares."""
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with store.engine.begin() as conn:
        command.check(alembic_config(conn))  # raises when an upgrade operation is missing
    store.close()


def test_a_store_of_json_text_columns_is_converted_and_keeps_its_values(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url)
    rows = [TaskRow("t0", "www/prod/x", 0, 1, TaskState.RUNNING, 1.0, 1.0,
                    ports={"http": 31000})]
    with store.transaction() as tx:
        store.tasks.write(tx, TaskWrite(new=rows))
    with store.engine.begin() as conn:  # back to the stores of before: JSON text in TEXT
        command.downgrade(alembic_config(conn), "0002_updates")
        types = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns("tasks")}
    assert isinstance(types["ports"], sa.Text)
    store.close()
    again = open_store(url)
    assert again.tasks.task("t0") is not None and again.tasks.task("t0").ports == {"http": 31000}
    with again.engine.begin() as conn:
        command.check(alembic_config(conn))
    again.close()
