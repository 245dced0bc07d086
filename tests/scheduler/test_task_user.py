"""A root scheduler (no --nosetuid) runs each local task as its role's Unix user: checked from
outside on the real daemon, with Debian's ``www-data`` (uid 33) as the role. The task cannot
read the scheduler's 0600 files, its exit status is reported as it was, a role with no Unix
user fails its task in one line, and so does a sandbox the user cannot reach.

The daemons' dirs are under a directory of /tmp that others may traverse (pytest's own tmp
is 0700, which is the unreachable case).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from executor.core.users import SETPRIV
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire
from tests.unix_users import user_exists

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="running tasks as their role needs root"),
    pytest.mark.skipif(not user_exists("www-data"), reason="no www-data user"),
    pytest.mark.skipif(not os.access(SETPRIV, os.X_OK), reason=f"no {SETPRIV}"),
]

ROLE = "www-data"
NO_USER_ROLE = "www"  # the suite's usual role: no Unix user


@pytest.fixture(scope="module")
def base() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="aurora-task-user-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def running_daemon(work: Path) -> Iterator[Daemon]:
    d = Daemon(work / "work", work / "home", [], setuid=True)
    try:
        d.start()
        yield d
    finally:
        d.stop(signal.SIGKILL)
        d.kill_runners()


@pytest.fixture(scope="module")
def daemon(base: Path) -> Iterator[Daemon]:
    with running_daemon(base / "open") as d:
        yield d


def finished(daemon: Daemon, task_id: str) -> str | None:
    with daemon.client() as c:
        task = c.task(task_id)
    return task.status if task.status in ("FINISHED", "FAILED", "LOST", "KILLED") else None


def test_the_startup_log_says_tasks_run_as_their_roles_user(daemon: Daemon) -> None:
    log = daemon.log.read_text()
    assert "local backend: tasks run as their role's user" in log
    assert "the scheduler's own user" not in log


def test_with_nosetuid_the_startup_log_says_tasks_run_as_the_schedulers_user(
        make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon()  # the suite's daemons are given --nosetuid
    assert ("local backend: tasks run as root, the scheduler's own user (--nosetuid): a task "
            "can read what that user can") in daemon.log.read_text()
    wire = job_wire(tmp_path, "asroot", "id -u", role=ROLE)
    with daemon.client() as c:
        (task_id,) = c.create_job(wire).task_ids
        assert eventually(lambda: finished(daemon, task_id), what="the task ended") == "FINISHED"
        assert c.task_log(task_id, "main", 0, "stdout").split() == ["0"]


def test_a_task_runs_as_its_role_and_cannot_read_the_schedulers_files(
        daemon: Daemon, tmp_path: Path) -> None:
    private = [daemon.home / "token", daemon.work_dir / "scheduler.db",
               daemon.work_dir / "auth.json"]
    for path in private:
        st = path.stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600), path
    reads = "; ".join(f"(cat {p} > /dev/null 2>&1 && echo read {p.name} || echo denied "
                      f"{p.name})" for p in private)
    wire = job_wire(tmp_path, "whoami", f"id -u; echo $USER; {reads}; exit 3", role=ROLE)
    with daemon.client() as c:
        (task_id,) = c.create_job(wire).task_ids
        assert eventually(lambda: finished(daemon, task_id), what="the task ended") == "FAILED"
        (process,) = c.task_logs(task_id).processes
        assert process.runs[0].return_code == 3
        out = c.task_log(task_id, "main", 0, "stdout").splitlines()
    assert out == ["33", ROLE, *(f"denied {p.name}" for p in private)]
    sandbox = daemon.work_dir / "tasks" / task_id / "sandbox"
    assert sandbox.stat().st_uid == 33


def test_a_task_that_succeeds_as_its_role_is_finished(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "fine", "touch made-by-the-task", role=ROLE)
    with daemon.client() as c:
        (task_id,) = c.create_job(wire).task_ids
    assert eventually(lambda: finished(daemon, task_id), what="the task ended") == "FINISHED"
    made = daemon.work_dir / "tasks" / task_id / "sandbox" / "made-by-the-task"
    assert made.stat().st_uid == 33


@pytest.mark.skipif(user_exists(NO_USER_ROLE), reason=f"{NO_USER_ROLE} is a Unix user here")
def test_a_role_with_no_unix_user_fails_its_task_in_one_line(daemon: Daemon,
                                                             tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "nouser", "touch ran", role=NO_USER_ROLE)
    with daemon.client() as c:
        (task_id,) = c.create_job(wire).task_ids
        assert eventually(lambda: finished(daemon, task_id), what="the task ended") == "FAILED"
        message = c.task(task_id).message or ""
    assert "\n" not in message
    assert f"no Unix user {NO_USER_ROLE!r} on this host" in message
    assert "--nosetuid" in message
    assert not (daemon.work_dir / "tasks" / task_id / "sandbox" / "ran").exists()


def test_a_sandbox_the_role_cannot_reach_fails_its_task_in_one_line(base: Path,
                                                                    tmp_path: Path) -> None:
    private = base / "private"
    private.mkdir(mode=0o700)
    with running_daemon(private) as daemon:
        assert f"{private} is not searchable by other users" in daemon.log.read_text()
        wire = job_wire(tmp_path, "unreachable", "touch ran", role=ROLE)
        with daemon.client() as c:
            (task_id,) = c.create_job(wire).task_ids
            assert eventually(lambda: finished(daemon, task_id),
                              what="the task ended") == "FAILED"
            message = c.task(task_id).message or ""
        assert "\n" not in message
        assert f"{private} (mode 0700) is not searchable by it" in message
        assert not (daemon.work_dir / "tasks" / task_id / "sandbox" / "ran").exists()
