"""Aurora's staged recovery through ``aurora_admin``, against the real daemon: a backup
staged, its tasks listed and trimmed, then committed (the scheduler restarts on it, after
backing up what it replaces) or unloaded."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from aurora_provider.api.errors import JobNotFound
from aurora_provider.cli.aurora_admin import main as aurora_admin
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = aurora_admin(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def running(daemon: Daemon, name: str, count: int) -> list[str]:
    """Wait until ``count`` tasks of job ``name`` run; their task ids."""
    with daemon.client() as client:
        key = f"devcluster/www/test/{name}"
        eventually(lambda: client.job_summary(key).active == {"RUNNING": count},
                   what=f"{count} RUNNING", timeout=30)
        return sorted(t.task_id for t in client.job_task_lists(key, terminal_limit=0).active)


def stopped(pid: int) -> bool:
    """Gone, or a zombie: the runner was the old backend's child, reaped when the daemon
    next starts a process."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_staged_backup_is_trimmed_then_committed(
        daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    daemon.as_devcluster(tmp_path, monkeypatch)
    with daemon.client() as client:
        client.create_job(job_wire(tmp_path, "kept", "sleep 600", service=True, instances=2))
        kept = running(daemon, "kept", 2)
        backup = client.backup_now().backup_id
        client.create_job(job_wire(tmp_path, "later", "sleep 600", service=True))
        (later,) = running(daemon, "later", 1)
    later_pid = daemon.runner_pids()[later]

    code, out, err = run(capsys, "scheduler_stage_recovery", "devcluster", backup)
    assert code == 0 and f"backup {backup} staged for recovery: 2 active task(s)" in out, err
    code, _, err = run(capsys, "scheduler_stage_recovery", "devcluster", backup)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert f"backup {backup} is already staged: commit or unload it first" in err
    code, out, err = run(capsys, "scheduler_print_recovery_tasks", "devcluster")
    assert code == 0, err
    assert out.splitlines() == ["Role\tJob\tShard\tStatus\tTask ID"] + [
        f"www\tkept\t{i}\tRUNNING\t{task_id}" for i, task_id in enumerate(kept)]
    code, _, err = run(capsys, "scheduler_delete_recovery_tasks", "devcluster",
                       f"{kept[1]},nope")
    assert code == 1 and "task_ids: not in the staged backup: nope" in err
    code, out, err = run(capsys, "scheduler_delete_recovery_tasks", "devcluster", kept[1])
    assert code == 0 and "deleted 1 task(s) from the staged recovery" in out, err
    # Nothing staged has reached the live store yet.
    assert len(running(daemon, "kept", 2)) == 2

    code, out, err = run(capsys, "scheduler_commit_recovery", "devcluster")
    assert code == 0, err
    assert f"the scheduler restarted on backup {backup}; the store as it was before is " \
        "backup backup-" in out
    safety = out.split()[-1]
    # The scheduler runs on the staged store: instance 0 re-adopted as it ran, the deleted
    # task and the job created after the backup unknown to it, so stopped.
    assert running(daemon, "kept", 1) == [kept[0]]
    with daemon.client() as client:
        with pytest.raises(JobNotFound):
            client.job_summary("devcluster/www/test/later")
        assert safety in {b.backup_id for b in client.list_backups().backups}
    eventually(lambda: stopped(later_pid), what="the unknown task stopped", timeout=30)

    code, out, err = run(capsys, "scheduler_print_recovery_tasks", "devcluster")
    assert code == 1 and "no backup is staged for recovery" in err
    code, out, err = run(capsys, "scheduler_unload_recovery", "devcluster")
    assert code == 0 and out.strip() == "no recovery was staged", err
    with daemon.client() as client:
        client.killall("devcluster/www/test/kept")


def test_an_unloaded_backup_changes_nothing(daemon: Daemon, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    daemon.as_devcluster(tmp_path, monkeypatch)
    with daemon.client() as client:
        backup = client.backup_now().backup_id
        client.create_job(job_wire(tmp_path, "stays", "sleep 600", service=True))
        (task,) = running(daemon, "stays", 1)
    assert run(capsys, "scheduler_stage_recovery", "devcluster", backup)[0] == 0
    code, out, err = run(capsys, "scheduler_unload_recovery", "devcluster")
    assert code == 0 and out.strip() == f"backup {backup} unloaded", err
    code, _, err = run(capsys, "scheduler_stage_recovery", "devcluster",
                       "backup-20200101T000000000000Z")
    assert code == 1 and "no backup backup-20200101T000000000000Z in " in err
    assert running(daemon, "stays", 1) == [task]
    with daemon.client() as client:
        client.killall("devcluster/www/test/stays")
