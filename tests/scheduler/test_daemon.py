"""The real daemon driven over HTTP, running tasks through the real executor."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest

from aurora_provider.api import models as m
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

TERMINAL = {"FINISHED", "FAILED", "KILLED", "LOST"}


def status(daemon: Daemon, key: str) -> m.JobStatus:
    with daemon.client() as c:
        return c.job_status(key)


def all_running(daemon: Daemon, key: str, instances: int) -> m.JobStatus | None:
    st = status(daemon, key)
    running = [t for t in st.active if t.status == "RUNNING"]
    return st if len(running) == instances else None


def test_create_running_kill_killed(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "sleeper", "sleep 600", service=True, instances=2, ports=True)
    key = "devcluster/www/test/sleeper"
    with daemon.client() as c:
        created = c.create_job(wire)
        assert len(created.task_ids) == 2
        assert all(t.startswith("www-test-sleeper-") for t in created.task_ids)
    st = eventually(lambda: all_running(daemon, key, 2), what="2 RUNNING")
    for task in st.active:
        assert [e.status for e in task.events] == ["INIT", "PENDING", "ASSIGNED", "STARTING",
                                                   "RUNNING"]
        assert set(task.ports) == {"http"} and 31000 <= task.ports["http"] <= 32000
        assert task.host == "localhost"
    with daemon.client() as c:
        killed = c.killall(key)
        assert sorted(killed.killed) == sorted(created.task_ids)
    st = eventually(lambda: (s := status(daemon, key)) and not s.active and s, what="killed")
    assert {t.status for t in st.terminal} == {"KILLED"}
    for task in st.terminal:
        assert [e.status for e in task.events][-2:] == ["KILLING", "KILLED"]
    assert st.exists is False  # a job without active tasks is gone; its history stays
    with daemon.client() as c:
        assert key not in [j.key for j in c.list_jobs().jobs]


def test_failing_adhoc_task_retried_up_to_max_task_failures(daemon: Daemon,
                                                          tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "failer", "exit 3", max_task_failures=3)
    key = "devcluster/www/test/failer"
    with daemon.client() as c:
        c.create_job(wire)
    st = eventually(lambda: (s := status(daemon, key)) and not s.active and len(s.terminal) >= 3
                  and s, what="three failures")
    assert [t.status for t in st.terminal] == ["FAILED"] * 3
    assert sorted(t.failure_count for t in st.terminal) == [1, 2, 3]
    assert all(t.instance == 0 for t in st.terminal)


def test_finished_service_instance_is_rescheduled(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "oneshot", "true", service=True)
    key = "devcluster/www/test/oneshot"
    with daemon.client() as c:
        c.create_job(wire)
    st = eventually(lambda: (s := status(daemon, key)) and
                  sum(t.status == "FINISHED" for t in s.terminal) >= 2 and s,
                  what="two finished runs")
    assert st.active, "a service instance always has a replacement"
    by_id = {t.task_id: t for t in st.terminal + st.active}
    replaced = [t for t in by_id.values() if t.ancestor_id in by_id]
    assert replaced and all(by_id[t.ancestor_id].status == "FINISHED" for t in replaced)
    with daemon.client() as c:
        c.killall(key)


def test_flapping_task_is_throttled(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "flapper", "sleep 0.1", service=True)
    key = "devcluster/www/test/flapper"
    with daemon.client() as c:
        c.create_job(wire)

    def throttled_history() -> list[m.TaskModel]:
        st = status(daemon, key)
        return [t for t in st.terminal + st.active
                if any(e.status == "THROTTLED" for e in t.events)]

    throttled = eventually(throttled_history, what="a THROTTLED task")
    event = next(e for e in throttled[0].events if e.status == "THROTTLED")
    assert event.message and "flapping" in event.message
    with daemon.client() as c:
        c.killall(key)


def test_rolling_restart_in_batches(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "rolling", "sleep 600", service=True, instances=4)
    key = "devcluster/www/test/rolling"
    with daemon.client() as c:
        c.create_job(wire)
        before = eventually(lambda: all_running(daemon, key, 4), what="4 RUNNING")
        restart = c.restart(key, batch_size=2)
        assert restart.state == "ACTIVE" and restart.pending == [0, 1, 2, 3]
        done = eventually(lambda: (r := c.restart_status(key)).state == "DONE" and r,
                        what="restart done")
    assert sorted(done.done) == [0, 1, 2, 3]
    st = eventually(lambda: all_running(daemon, key, 4), what="4 RUNNING again")
    old_ids = {t.task_id for t in before.active}
    assert not old_ids & {t.task_id for t in st.active}
    restarted = {t.instance: t for t in st.terminal if t.task_id in old_ids}
    assert {t.status for t in restarted.values()} == {"KILLED"}

    def at(task: m.TaskModel, state: str) -> float:
        return next(e.timestamp for e in task.events if e.status == state)

    new = {t.instance: t for t in st.active}
    first_batch_running = max(at(new[i], "RUNNING") for i in (0, 1))
    second_batch_restart = min(at(restarted[i], "RESTARTING") for i in (2, 3))
    assert at(restarted[0], "RESTARTING") == at(restarted[1], "RESTARTING")
    assert second_batch_restart >= first_batch_running
    with daemon.client() as c:
        c.killall(key)


def test_kill_some_instances_and_add_instances(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "scaled", "sleep 600", service=True, instances=2)
    key = "devcluster/www/test/scaled"
    with daemon.client() as c:
        c.create_job(wire)
        eventually(lambda: all_running(daemon, key, 2), what="2 RUNNING")
        added = c.add_instances(key, 0, 2)
        assert added.instances == [2, 3]
        eventually(lambda: all_running(daemon, key, 4), what="4 RUNNING")
        c.kill(key, [1, 3])
        st = eventually(lambda: (s := status(daemon, key)) and len(s.active) == 2 and s,
                      what="two left")
        assert sorted(t.instance for t in st.active) == [0, 2]
        c.killall(key)


def _runner_processes(daemon: Daemon) -> dict[str, int]:
    alive = {}
    for task_id, pid in daemon.runner_pids().items():
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive[task_id] = pid
        except psutil.Error:
            pass
    return alive


def test_scheduler_kill9_and_restart_reattaches(make_daemon: object, tmp_path: Path) -> None:
    d: Daemon = make_daemon()  # type: ignore[operator]
    wire = job_wire(tmp_path, "durable", "sleep 600", service=True, instances=3)
    key = "devcluster/www/test/durable"
    with d.client() as c:
        c.create_job(wire)
    before = eventually(lambda: all_running(d, key, 3), what="3 RUNNING")
    d.stop(signal.SIGKILL)
    runners = _runner_processes(d)
    assert set(runners) == {t.task_id for t in before.active}  # they outlive the scheduler
    # One runner (and its task) vanishes while the scheduler is down.
    vanished = before.active[0].task_id
    proc = psutil.Process(runners[vanished])
    doomed = [proc, *proc.children(recursive=True)]
    for p in doomed:
        p.kill()
    psutil.wait_procs(doomed, timeout=5)
    d.start()
    after = eventually(lambda: all_running(d, key, 3), what="3 RUNNING after restart")
    survivors = {t.task_id for t in before.active} - {vanished}
    assert survivors <= {t.task_id for t in after.active}  # re-attached, not relaunched
    lost = next(t for t in after.terminal if t.task_id == vanished)
    assert lost.status == "LOST"
    assert len(after.active) == 3 and len({t.instance for t in after.active}) == 3
    # Exactly one runner per active task: nothing was started twice.
    live = _runner_processes(d)
    assert set(live) == {t.task_id for t in after.active}


def test_task_logs_are_served(daemon: Daemon, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "talker", "echo hello-from-task; echo oops >&2; sleep 600",
                    service=True)
    key = "devcluster/www/test/talker"
    with daemon.client() as c:
        c.create_job(wire)
        (task,) = eventually(lambda: all_running(daemon, key, 1), what="RUNNING").active
        listing = eventually(lambda: (lg := c.task_logs(task.task_id)).processes and lg,
                           what="a process run")
        assert [p.name for p in listing.processes] == ["main"]
        assert listing.processes[0].runs[0].run == 0
        out = eventually(lambda: c.task_log(task.task_id, "main", 0, "stdout"), what="stdout")
        assert "hello-from-task" in out
        assert "oops" in eventually(lambda: c.task_log(task.task_id, "main", 0, "stderr"))
        assert c.task_log(task.task_id, "main", 0, "stdout", tail_bytes=4) == "ask\n"
        c.killall(key)


def test_runners_unknown_to_the_database_are_stopped(make_daemon: object,
                                                     tmp_path: Path) -> None:
    d: Daemon = make_daemon()  # type: ignore[operator]
    wire = job_wire(tmp_path, "orphan", "sleep 600", service=True)
    key = "devcluster/www/test/orphan"
    with d.client() as c:
        c.create_job(wire)
    (task,) = eventually(lambda: all_running(d, key, 1), what="RUNNING").active
    d.stop(signal.SIGKILL)
    assert task.task_id in _runner_processes(d)
    # Same work dir, empty database: the runner belongs to nobody and is stopped.
    d.extra = ["--db", f"sqlite:///{tmp_path / 'fresh.db'}"]
    d.start()
    eventually(lambda: task.task_id not in _runner_processes(d), what="the orphan to stop")


def test_health_checked_task_is_running_once_healthy(daemon: Daemon, tmp_path: Path) -> None:
    # A 'health' port turns on the HTTP health check (GET /health must answer "ok").
    cmd = ("mkdir -p www && echo ok > www/health && "
           "exec python3 -m http.server {{thermos.ports[health]}} --bind 127.0.0.1 -d www")
    extra = (", health_check_config=HealthCheckConfig(initial_interval_secs=0.2, "
             "interval_secs=0.2), lifecycle=LifecycleConfig()")
    wire = job_wire(tmp_path, "checked", cmd, service=True, extra=extra)
    assert wire["task"]["requested_ports"] == ["health"]
    key = "devcluster/www/test/checked"
    with daemon.client() as c:
        c.create_job(wire)
        (task,) = eventually(lambda: all_running(daemon, key, 1), what="healthy").active
        assert [e.status for e in task.events][-2:] == ["STARTING", "RUNNING"]
        assert task.message == "Task healthy"
        c.killall(key)
        eventually(lambda: not status(daemon, key).active, what="killed")
