"""The real daemon on a PostgreSQL store (``--db postgresql+psycopg://...``): it migrates an
empty database, runs a job, backs the store up as JSON, restores that backup into a SQLite
work dir, and a restarted daemon finds its running task in the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aurora_provider.framework.storage.store import open_store
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def test_the_scheduler_runs_backs_up_and_restarts_on_postgresql(
        postgres_url: str, make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon("--db", postgres_url, "--backup-dir", str(tmp_path / "backups"))
    key = "devcluster/www/test/on-pg"
    with daemon.client() as c:
        c.create_job(job_wire(tmp_path, "on-pg", "sleep 600", service=True))
        eventually(lambda: c.job_summary(key).active == {"RUNNING": 1}, what="RUNNING")
        (task,) = c.job_task_lists(key, terminal_limit=0).active
        backup = c.backup_now()
        assert backup.format == "json"
        assert [b.backup_id for b in c.list_backups().backups] == [backup.backup_id]
        restored = c.restore_backup(backup.backup_id, str(tmp_path / "restored"))
    copy = open_store(f"sqlite:///{restored.database}")
    assert [t.task_id for t in copy.tasks.tasks(job_key="www/test/on-pg")] == [task.task_id]
    copy.close()
    assert not (daemon.work_dir / "scheduler.db").exists()  # the store is PostgreSQL only
    daemon.stop()
    daemon.start()
    with daemon.client() as c:
        (again,) = eventually(lambda: c.job_task_lists(key, terminal_limit=0).active,
                              what="the task after the restart")
        assert (again.task_id, again.status) == (task.task_id, "RUNNING")
        c.killall(key)
        eventually(lambda: not c.job_summary(key).active, what="killed")
