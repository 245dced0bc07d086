"""The scheduler killed at its worst moments comes back without losing, duplicating or
failing anything. Real daemon, real runners.

A kill -9 between committing a launch and spawning its runner is made exact here: the daemon
is killed, then the store and the work dir are put back to what that moment leaves (the task
ASSIGNED, no runner, no runner record, no checkpoint). SIGTERM is the clean stop: the round
in flight finishes, the exit status is 0.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from aurora_provider.api import models as m
from tests.chaos import SCENARIOS, run_trial
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def status(daemon: Daemon, key: str) -> m.JobStatus:
    with daemon.client() as c:
        return c.job_status(key)


def running(daemon: Daemon, key: str, count: int) -> m.JobStatus | None:
    st = status(daemon, key)
    return st if sum(t.status == "RUNNING" for t in st.active) == count else None


def runners_of(daemon: Daemon, task_id: str) -> list[psutil.Process]:
    """Live runner processes of ``task_id`` (by their command line)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        argv = proc.info["cmdline"] or []
        if "executor.runner_main" in argv and task_id in argv and \
                str(daemon.work_dir) in " ".join(argv):
            found.append(proc)
    return found


def never_spawned(daemon: Daemon, task_ids: list[str]) -> None:
    """With the daemon killed: ``task_ids`` as a kill -9 right after committing their launch
    leaves them. Their runners and processes go, their files go, and the store holds them
    ASSIGNED (their STARTING and RUNNING events, which the runner caused, are dropped)."""
    assert daemon.proc is None
    for task_id in task_ids:
        procs = runners_of(daemon, task_id)
        procs += [c for p in procs for c in p.children(recursive=True)]
        for proc in procs:
            proc.kill()
        psutil.wait_procs(procs, timeout=10)
        shutil.rmtree(daemon.work_dir / "tasks" / task_id)
        shutil.rmtree(daemon.work_dir / "checkpoints" / task_id)
    with sqlite3.connect(daemon.work_dir / "scheduler.db") as db:
        for task_id in task_ids:
            db.execute("DELETE FROM task_events WHERE task_id = ? AND status IN "
                       "('STARTING', 'RUNNING')", (task_id,))
            db.execute("UPDATE tasks SET status = 'ASSIGNED', message = 'Assigned to localhost'"
                       " WHERE task_id = ?", (task_id,))


def test_tasks_never_spawned_before_a_crash_are_launched_not_lost(
        make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon()
    key = "devcluster/www/test/unspawned"
    with daemon.client() as c:
        created = c.create_job(job_wire(tmp_path, "unspawned", "sleep 600", service=True,
                                        instances=3))
    eventually(lambda: running(daemon, key, 3), what="3 RUNNING")
    daemon.stop(signal.SIGKILL)
    never_spawned(daemon, created.task_ids)
    daemon.start()
    st = eventually(lambda: running(daemon, key, 3), what="3 RUNNING after the restart")
    assert sorted(t.task_id for t in st.active) == sorted(created.task_ids)
    assert st.terminal == []  # nothing LOST, nothing replaced
    for task in st.active:
        assert [e.status for e in task.events] == ["INIT", "PENDING", "ASSIGNED", "STARTING",
                                                   "RUNNING"]
        assert task.failure_count == 0
        assert len(runners_of(daemon, task.task_id)) == 1


def test_an_update_whose_new_tasks_were_never_spawned_rolls_forward(
        make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon()
    key = "devcluster/www/test/upd-unspawned"
    strict = ("batch_size=2, watch_secs=5, max_per_shard_failures=0, max_total_failures=0, "
              "rollback_on_failure=True")

    def wire(cmd: str) -> dict[str, object]:
        return job_wire(tmp_path, "upd-unspawned", cmd, service=True, instances=2,
                        extra=f", update_config=UpdateConfig({strict})")

    with daemon.client() as c:
        old = set(c.create_job(wire("sleep 600")).task_ids)
    eventually(lambda: running(daemon, key, 2), what="2 RUNNING")
    with daemon.client() as c:
        update = c.start_update(wire("sleep 601"))

    def new_running() -> list[str]:
        fresh = [t.task_id for t in status(daemon, key).active
                 if t.task_id not in old and t.status == "RUNNING"]
        return fresh if len(fresh) == 2 else []

    fresh = eventually(new_running, what="the update's new tasks RUNNING")
    with daemon.client() as c:
        assert c.update_details(key, update.update_id).active  # still watching them
    daemon.stop(signal.SIGKILL)
    never_spawned(daemon, fresh)
    daemon.start()

    def ended() -> m.UpdateDetails | None:
        with daemon.client() as c:
            details = c.update_details(key, update.update_id)
        return None if details.active else details

    done = eventually(ended, timeout=90, what="the update to end")
    assert done.status == "ROLLED_FORWARD"
    st = eventually(lambda: running(daemon, key, 2), what="2 RUNNING")
    assert sorted(t.task_id for t in st.active) == sorted(fresh)
    assert not any(t.status == "LOST" for t in st.terminal)


def test_a_runner_spawned_but_not_recorded_is_adopted_not_started_twice(
        make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon()
    key = "devcluster/www/test/unrecorded"
    with daemon.client() as c:
        [task_id] = c.create_job(job_wire(tmp_path, "unrecorded", "sleep 600",
                                          service=True)).task_ids
    eventually(lambda: running(daemon, key, 1), what="RUNNING")
    daemon.stop(signal.SIGKILL)
    (daemon.work_dir / "tasks" / task_id / "runner.json").unlink()
    daemon.start()
    with daemon.client() as c:  # a reconcile round trip: the restart has settled
        c.job_status(key)
    st = eventually(lambda: running(daemon, key, 1), what="RUNNING after the restart")
    assert [t.task_id for t in st.active] == [task_id] and st.terminal == []
    assert len(runners_of(daemon, task_id)) == 1


def test_sigterm_finishes_the_round_and_exits_0(make_daemon: Callable[..., Daemon],
                                                tmp_path: Path) -> None:
    daemon = make_daemon()
    key = "devcluster/www/test/termed"
    with daemon.client() as c:
        c.create_job(job_wire(tmp_path, "termed", "sleep 600", service=True, instances=20))
    proc = daemon.proc
    assert proc is not None
    proc.send_signal(signal.SIGTERM)  # while the 20 instances are being placed and launched
    assert proc.wait(timeout=30) == 0
    daemon.proc = None
    log = daemon.log.read_text()
    assert "SIGTERM: stopping" in log and "scheduler for cluster devcluster stopped" in log
    daemon.start()
    st = eventually(lambda: running(daemon, key, 20), what="20 RUNNING after the restart")
    assert sorted(t.instance for t in st.active) == list(range(20))
    assert not any(t.status == "LOST" for t in st.terminal)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_kill_9_at_a_random_moment(make_daemon: Callable[..., Daemon], tmp_path: Path,
                                   scenario: str) -> None:
    # One seeded trial per operation here; bench/chaos.py runs many.
    daemon = make_daemon()
    run_trial(daemon, tmp_path, scenario, seed=13)
