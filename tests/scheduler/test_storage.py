"""The store: migrations applied at open, batched writes, typed rows back, whole-store copies;
each on SQLite and on PostgreSQL (``store_url``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from aurora_provider.api.errors import StorageError
from aurora_provider.framework import storage
from aurora_provider.framework.model.updates import (
    InstanceEvent,
    InstanceProgress,
    UpdateEvent,
    UpdateRecord,
    UpdateSettings,
)
from aurora_provider.framework.storage import snapshots
from aurora_provider.framework.storage.database import alembic_config
from aurora_provider.framework.storage.restarts import RestartLimits
from aurora_provider.framework.storage.rows import EventRow, TaskRow, TaskWrite
from aurora_provider.framework.storage.store import Store, open_store
from aurora_provider.framework.storage.updates import UpdateWrite
from aurora_provider.states.instance_update import InstanceAction, InstanceUpdateState
from aurora_provider.states.task import TaskState
from aurora_provider.states.update import UpdateStatus
from tests.postgres import free_port

pytestmark = pytest.mark.unit


def test_migrations_run_once(store_url: str) -> None:
    store = open_store(store_url)
    again = open_store(store_url)  # idempotent: already at head
    with again.engine.connect() as conn:
        versions = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    # Feature branches of the schema (updates, operations) each have a head: all are applied.
    migrations = Path(storage.__file__).parent / "migrations"
    assert versions == set(ScriptDirectory(str(migrations)).get_heads())
    assert "0012_wide_cron_keys" in versions  # the operations branch's head
    assert store.jobs.jobs() == []
    again.close()
    store.close()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_batched_rows_round_trip(store_url: str) -> None:
    store = open_store(store_url)
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
    store.close()


def test_the_migrations_match_the_tables(store_url: str) -> None:
    """``alembic check``: the migrated schema is what ``storage.tables`` declares."""
    store = open_store(store_url)
    with store.engine.begin() as conn:
        command.check(alembic_config(conn))  # raises when an upgrade operation is missing
    store.close()


def test_a_store_of_json_text_columns_is_converted_and_keeps_its_values(store_url: str) -> None:
    store = open_store(store_url)
    rows = [TaskRow("t0", "www/prod/x", 0, 1, TaskState.RUNNING, 1.0, 1.0,
                    ports={"http": 31000})]
    with store.transaction() as tx:
        store.tasks.write(tx, TaskWrite(new=rows))
    with store.engine.begin() as conn:  # back to the stores of before: JSON text in TEXT
        command.downgrade(alembic_config(conn), "0002_updates")
        types = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns("tasks")}
    assert isinstance(types["ports"], sa.Text)
    store.close()
    again = open_store(store_url)
    assert again.tasks.task("t0") is not None and again.tasks.task("t0").ports == {"http": 31000}
    with again.engine.begin() as conn:
        command.check(alembic_config(conn))
    again.close()


def test_keys_as_long_as_the_api_allows_are_stored(store_url: str) -> None:
    """Three names of 255 characters make a job key, and a task id, longer than 255."""
    store = open_store(store_url)
    job_key = "/".join(c * 255 for c in "rea")
    task_id = f"{job_key.replace('/', '-')}-0-{'u' * 36}"
    with store.transaction() as tx:
        store.tasks.write(tx, TaskWrite(new=[TaskRow(task_id, job_key, 0, 1, TaskState.PENDING,
                                                     1.0, 1.0, ancestor_id=task_id)],
                                        events=[EventRow(task_id, 1.0, TaskState.PENDING)]))
        store.restarts.add(tx, job_key, RestartLimits(), [0], 1.0)
    assert [r.task_id for r in store.tasks.tasks(job_key=job_key)] == [task_id]
    assert list(store.tasks.events(job_key=job_key)) == [task_id]
    assert store.restarts.restarts(job_key=job_key)[0].job_key == job_key
    store.close()


def _update(update_id: str, status: UpdateStatus, progress: InstanceProgress) -> UpdateRecord:
    return UpdateRecord(
        update_id=update_id, job_key="www/prod/x", cluster="c", status=status, user="bob",
        created_at=1.0, updated_at=2.0, settings=UpdateSettings(), desired_config_id=7,
        desired_instances=2, initial={0: 6, 1: 6}, scope={"replace": [0, 1]},
        progress={0: progress, 1: InstanceProgress(7)}, only_instances=(0, 1),
        creates_job=True)


def test_json_columns_and_executemany_of_every_kind(store_url: str) -> None:
    """Restarts, updates (a driver-level ``update_many`` of JSON progress) and scheduler
    state come back as they were written."""
    store = open_store(store_url)
    with store.transaction() as tx:
        restart = store.restarts.add(tx, "www/prod/x", RestartLimits(2, 5.0, 1, 0), [0, 1, 2], 1.0)
        first = _update("u1", UpdateStatus.ROLLING_FORWARD, InstanceProgress(7))
        store.updates.write(tx, UpdateWrite(
            new_records=[first], events=[("u1", UpdateEvent(1.0, first.status, "bob"))]))
    moved = first.with_progress(0, InstanceProgress(7, InstanceUpdateState.WORKING, 1, "t-7"))
    with store.transaction() as tx:
        store.restarts.save(tx, restart.__class__(
            **{**restart.__dict__, "pending": (2,), "in_flight": {1: "t1"}, "done": (0,),
               "failures": {1: 1}, "watching": {0: "t0b"}}))
        store.updates.write(tx, UpdateWrite(records=[moved], instance_events=[
            ("u1", InstanceEvent(0, 2.0, InstanceAction.INSTANCE_UPDATING))]))
    store.state.put("mesos.framework_id", "fw-1", 3.0)
    (back,) = store.restarts.restarts(active_only=True)
    assert (back.pending, back.in_flight, back.done, back.failures, back.watching) == \
        ((2,), {1: "t1"}, (0,), {1: 1}, {0: "t0b"})
    (record,) = store.updates.records(update_id="u1")
    assert record == moved
    assert store.updates.events("u1")[0].user == "bob"
    assert store.updates.instance_events("u1")[0].action is InstanceAction.INSTANCE_UPDATING
    assert store.state.get("mesos.framework_id") == "fw-1"
    store.close()


def _fill(store: Store, n: int, job_key: str = "www/prod/x") -> None:
    rows = [TaskRow(f"{job_key}-{i}", job_key, i, 1, TaskState.RUNNING, 1.0, 1.0,
                    ports={"http": i}) for i in range(n)]
    with store.transaction() as tx:
        store.tasks.write(tx, TaskWrite(new=rows, events=[EventRow(r.task_id, 1.0, r.status)
                                                          for r in rows]))
        for _ in range(n):
            store.restarts.add(tx, job_key, RestartLimits(), [0], 1.0)


def test_an_export_replaces_another_store_which_keeps_growing(store_url: str,
                                                               tmp_path: Path) -> None:
    """A committed recovery: the staged SQLite store's export replaces the live store (here
    on either database); new rows get ids after the imported ones."""
    staged = open_store(f"sqlite:///{tmp_path / 'staged.db'}")
    _fill(staged, 3)
    live = open_store(store_url)
    _fill(live, 1, "www/prod/gone")
    snapshots.replace_tables(live.db, snapshots.export_tables(staged.db))
    assert [r.task_id for r in live.tasks.tasks()] == [f"www/prod/x-{i}" for i in range(3)]
    assert live.tasks.task("www/prod/x-2").ports == {"http": 2}  # type: ignore[union-attr]
    with live.transaction() as tx:  # ids continue after the imported rows
        added = live.restarts.add(tx, "www/prod/y", RestartLimits(), [0], 2.0)
        live.tasks.write(tx, TaskWrite(events=[EventRow("www/prod/x-0", 2.0,
                                                        TaskState.KILLING)]))
    assert added.restart_id == 4
    assert [e.status for e in live.tasks.events(job_key="www/prod/x")["www/prod/x-0"]] == \
        [TaskState.RUNNING, TaskState.KILLING]
    # And back: the live store's export loads into a fresh SQLite store.
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    snapshots.import_tables(fresh.db, snapshots.export_tables(live.db))
    assert [r.restart_id for r in fresh.restarts.restarts()] == [1, 2, 3, 4]
    for store in (staged, live, fresh):
        store.close()


def test_a_database_that_cannot_be_reached_is_one_line_without_its_password() -> None:
    closed = f"postgresql+psycopg://aurora:s3cret@127.0.0.1:{free_port()}/nowhere"
    with pytest.raises(StorageError) as raised:
        open_store(closed)
    message = str(raised.value)
    assert message.startswith("cannot open the database 'postgresql+psycopg://aurora:***@")
    assert "\n" not in message and "s3cret" not in message and "Connection refused" in message


@pytest.mark.parametrize("url", ["postgresql+nodriver://h/db", "not a url"])
def test_a_bad_url_is_one_line(url: str) -> None:
    with pytest.raises(StorageError, match=r"^cannot open the database ") as raised:
        open_store(url)
    assert "\n" not in str(raised.value)


def test_an_export_is_one_view_while_the_store_is_written(store_url: str) -> None:
    """A task committed while the export reads another table is not in the export: every
    table is read as of the export's start."""
    store = open_store(store_url)
    _fill(store, 1)
    written = []

    def write_meanwhile(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not written and statement.startswith("SELECT") and "FROM cron_jobs" in statement:
            written.append(True)
            _fill(store, 1, "www/prod/meanwhile")

    sa.event.listen(store.engine, "before_cursor_execute", write_meanwhile)
    export = snapshots.export_tables(store.db)
    sa.event.remove(store.engine, "before_cursor_execute", write_meanwhile)
    assert written and store.tasks.task("www/prod/meanwhile-0") is not None
    assert [t["task_id"] for t in export["tables"]["tasks"]] == ["www/prod/x-0"]
    store.close()
