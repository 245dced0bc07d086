"""Chaos trials: the real daemon kill -9'd at a random moment of an operation, restarted,
and checked: the operation completes, no instance is lost or duplicated, no runner is
orphaned. Shared by ``tests/scheduler/test_crash_safety.py`` (a few seeded trials) and
``bench/chaos.py`` (more, reported).

Each scenario starts the operation, sleeps a random delay drawn from the trial's seeded
generator, kills the daemon with SIGKILL, starts it again on the same work dir and waits
for the outcome; a failed check raises ``AssertionError`` naming the scenario and seed.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from aurora_provider.api import models as m
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

ROLE_ENV = "devcluster/www/test"


@dataclass(frozen=True)
class Trial:
    scenario: str
    seed: int
    delay: float  # seconds from the operation's start to the kill
    seconds: float  # the whole trial, restart and settling included


def runner_tasks(daemon: Daemon) -> list[str]:
    """The task id of every live runner of this daemon's work dir (one entry per runner)."""
    marker = str(daemon.work_dir)
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        argv = proc.info["cmdline"] or []
        if proc.info["status"] == psutil.STATUS_ZOMBIE or "executor.runner_main" not in argv:
            continue
        if marker in " ".join(argv) and "--task-id" in argv:
            found.append(argv[argv.index("--task-id") + 1])
    return found


def _status(daemon: Daemon, key: str) -> m.JobStatus:
    with daemon.client() as c:
        return c.job_status(key)


def settled(daemon: Daemon, key: str, instances: int,
            check: Callable[[m.TaskModel], bool] = lambda t: True) -> m.JobStatus | None:
    """The job once exactly one RUNNING task per instance 0..n-1 (each passing ``check``)
    is all that is active, and every runner of the work dir is one of them."""
    st = _status(daemon, key)
    active = st.active
    if sorted(t.instance for t in active) != list(range(instances)):
        return None
    if not all(t.status == "RUNNING" and check(t) for t in active):
        return None
    runners = runner_tasks(daemon)
    return st if sorted(runners) == sorted(t.task_id for t in active) else None


def _wire(tmp_path: Path, name: str, cmd: str, instances: int, extra: str = "",
          service: bool = True) -> dict[str, Any]:
    return job_wire(tmp_path, name, cmd, service=service, instances=instances, extra=extra)


Crash = Callable[[Daemon, random.Random, float], float]


def kill_9(daemon: Daemon, rng: random.Random, longest: float) -> float:
    """Kill the daemon after a random delay up to ``longest`` s and start it again."""
    delay = rng.uniform(0.0, longest)
    time.sleep(delay)
    daemon.stop(signal.SIGKILL)
    daemon.start()
    return delay


def no_crash(daemon: Daemon, rng: random.Random, longest: float) -> float:
    """The same operation left alone (a baseline)."""
    return 0.0


def create(daemon: Daemon, tmp_path: Path, rng: random.Random, name: str,
           crash: Crash) -> float:
    instances = 6
    with daemon.client() as c:
        c.create_job(_wire(tmp_path, name, "sleep 600", instances))
    delay = crash(daemon, rng, 1.0)
    key = f"{ROLE_ENV}/{name}"
    st = eventually(lambda: settled(daemon, key, instances), timeout=90,
                    what=f"{name}: {instances} instances running, one runner each")
    assert st is not None
    # A kill between committing a launch and spawning its runner must not lose the task.
    assert not any("vanished" in (t.message or "") for t in st.terminal), st.terminal
    return delay


def update(daemon: Daemon, tmp_path: Path, rng: random.Random, name: str,
           crash: Crash) -> float:
    instances = 4
    settings = ", update_config=UpdateConfig(batch_size=2, watch_secs=1, " \
               "max_per_shard_failures=0, max_total_failures=0, rollback_on_failure=True)"
    key = f"{ROLE_ENV}/{name}"
    with daemon.client() as c:
        c.create_job(_wire(tmp_path, name, "sleep 600", instances, settings))
    eventually(lambda: settled(daemon, key, instances), timeout=90, what=f"{name} running")
    new = _wire(tmp_path, name, "sleep 601", instances, settings)
    with daemon.client() as c:
        started = c.start_update(new)
    delay = crash(daemon, rng, 3.0)

    def ended() -> m.UpdateDetails | None:
        with daemon.client() as c:
            details = c.update_details(key, started.update_id)
        return None if details.active else details

    done = eventually(ended, timeout=90, what=f"{name}: the update to end")
    assert done is not None
    assert done.status == "ROLLED_FORWARD", f"{name}: update ended {done.status}"

    def on_new_config() -> bool:
        with daemon.client() as c:
            return c.diff(new).unchanged == list(range(instances))

    eventually(lambda: on_new_config() and settled(daemon, key, instances), timeout=90,
               what=f"{name}: the new configuration everywhere, one runner each")
    return delay


def restart(daemon: Daemon, tmp_path: Path, rng: random.Random, name: str,
            crash: Crash) -> float:
    instances = 4
    key = f"{ROLE_ENV}/{name}"
    with daemon.client() as c:
        c.create_job(_wire(tmp_path, name, "sleep 600", instances))
    before = eventually(lambda: settled(daemon, key, instances), timeout=90,
                        what=f"{name} running")
    assert before is not None
    old = {t.task_id for t in before.active}
    with daemon.client() as c:
        c.restart(key, None, 2)
    delay = crash(daemon, rng, 1.5)

    def done() -> bool:
        with daemon.client() as c:
            return c.restart_status(key).state != "ACTIVE"

    eventually(done, timeout=90, what=f"{name}: the rolling restart to end")
    eventually(lambda: settled(daemon, key, instances, lambda t: t.task_id not in old),
               timeout=90, what=f"{name}: every instance restarted, one runner each")
    return delay


def cron(daemon: Daemon, tmp_path: Path, rng: random.Random, name: str,
         crash: Crash) -> float:
    instances = 3
    key = f"{ROLE_ENV}/{name}"
    with daemon.client() as c:
        c.schedule_cron(_wire(tmp_path, name, "sleep 1", instances,
                              ", cron_schedule='0 0 1 1 *'", service=False))
        c.start_cron(key)
    delay = crash(daemon, rng, 1.5)

    def finished() -> m.CronRunModel | None:
        with daemon.client() as c:
            runs = c.cron_runs(key).runs
        return runs[0] if runs and runs[0].state == "DONE" else None

    run = eventually(finished, timeout=90, what=f"{name}: the cron run to end")
    assert run is not None
    assert len(run.task_ids) == instances, run
    st = _status(daemon, key)
    mine = [t for t in st.terminal if t.task_id in run.task_ids]
    assert sorted(t.instance for t in mine) == list(range(instances)), mine
    assert all(t.status == "FINISHED" for t in mine), [(t.task_id, t.status) for t in mine]
    assert not st.active and not runner_tasks(daemon)
    return delay


SCENARIOS: dict[str, Callable[[Daemon, Path, random.Random, str, Crash], float]] = {
    "create": create, "update": update, "restart": restart, "cron": cron}


def run_trial(daemon: Daemon, tmp_path: Path, scenario: str, seed: int, *,
              crash: Crash = kill_9) -> Trial:
    """One trial of ``scenario`` on a started daemon (its own job name per trial)."""
    started = time.monotonic()
    rng = random.Random(f"{scenario}-{seed}")
    delay = SCENARIOS[scenario](daemon, tmp_path, rng, f"chaos-{scenario}-{seed}", crash)
    return Trial(scenario, seed, delay, time.monotonic() - started)
