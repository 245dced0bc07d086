"""``aurora-scheduler --backend mesos`` against the test Mesos cluster and a real ZooKeeper.

The scheduler daemon is a real process; masters register in ZooKeeper; each agent starts
the real ``aurora-executor`` in its own session for every task, which runs the task's
processes. Nothing here is faked but Mesos itself.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from aurora_provider.api import models as m
from aurora_provider.api.errors import NotFound
from tests.daemon import Daemon, mesos_flags
from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.executors import in_container
from tests.scheduler.conftest import job_wire
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration

KEY = "devcluster/www/test/{}"


class MesosWorld:
    def __init__(self, root: Path, zookeeper: ZooKeeperServer, *, agents: int = 3,
                 masters: int = 1, **cluster: Any) -> None:
        self.root = root
        self.cluster = MesosCluster(root / "mesos", agents=agents, masters=masters,
                                    zk=zookeeper.hosts, zk_path=f"/mesos-{root.name}",
                                    heartbeat_interval=1.0, **cluster)
        self.cluster.start()
        self.daemon = Daemon(root / "scheduler", root / "home", mesos_flags(self.cluster, root))

    def start(self) -> MesosWorld:
        self.daemon.start()
        return self

    def stop(self) -> None:
        self.daemon.stop(signal.SIGKILL)
        self.cluster.stop()
        left = [p.pid for p in psutil.process_iter() if _in_sandbox_of(p, self.root)]
        assert not left, f"processes of the cluster's tasks outlived it: {left}"

    def status(self, name: str) -> m.JobStatus:
        with self.daemon.client() as c:
            return c.job_status(KEY.format(name))

    def running(self, name: str, count: int) -> m.JobStatus | None:
        st = self.status(name)
        return st if len([t for t in st.active if t.status == "RUNNING"]) == count else None

    def create(self, wire: dict[str, Any]) -> list[str]:
        with self.daemon.client() as c:
            return c.create_job(wire).task_ids


@pytest.fixture
def world(tmp_path: Path, zookeeper: ZooKeeperServer) -> Iterator[MesosWorld]:
    w = MesosWorld(tmp_path, zookeeper).start()
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def make_world(tmp_path: Path,
               zookeeper: ZooKeeperServer) -> Iterator[Callable[..., MesosWorld]]:
    made: list[MesosWorld] = []

    def make(**options: Any) -> MesosWorld:
        w = MesosWorld(tmp_path, zookeeper, **options)
        made.append(w)
        return w.start()

    yield make
    for w in made:
        w.stop()


def port_ranges(world: MesosWorld, host: str) -> list[tuple[int, int]]:
    """The ``ports`` ranges the agent offers."""
    resources = world.cluster.agent(host).config.resources
    return [(r["begin"], r["end"]) for res in resources if res["name"] == "ports"
            for r in res["ranges"]["range"]]


def http_service(tmp_path: Path, name: str, instances: int, extra: str = "") -> dict[str, Any]:
    """A service whose process answers HTTP on its assigned port."""
    cmd = f"{sys.executable} -m http.server --bind 127.0.0.1 {{{{thermos.ports[http]}}}}"
    return job_wire(tmp_path, name, cmd, service=True, instances=instances, extra=extra)


def test_create_runs_on_agents_with_their_ports_and_constraints_then_kill(
        world: MesosWorld, tmp_path: Path) -> None:
    wire = http_service(tmp_path, "web", 3, extra=", constraints={'host': 'limit:1'}")
    task_ids = world.create(wire)
    st = eventually(lambda: world.running("web", 3), timeout=60, what="3 RUNNING on Mesos")
    hosts = sorted(t.host for t in st.active)
    assert hosts == ["agent-0", "agent-1", "agent-2"]  # limit:1 host: one per agent
    for task in st.active:
        port = task.ports["http"]
        assert any(begin <= port <= end for begin, end in port_ranges(world, task.host))
        # The process really runs, on the port the offer gave.
        # RUNNING means started (no health check here), not yet listening: wait for it.
        assert eventually(lambda p=port: httpx.get(f"http://127.0.0.1:{p}/", timeout=2)
                          .status_code == 200, timeout=20, what=f"HTTP on {port}",
                          ignore=(httpx.ConnectError,))
        mesos_task = world.cluster.task(task.task_id)
        assert mesos_task is not None and mesos_task["state"] == "TASK_RUNNING"
        assert [e.status for e in task.events] == ["INIT", "PENDING", "ASSIGNED",
                                                   "STARTING", "RUNNING"]
    with world.daemon.client() as c:
        assert sorted(c.killall(KEY.format("web")).killed) == sorted(task_ids)
    st = eventually(lambda: (s := world.status("web")) and not s.active and s, timeout=60,
                    what="killed")
    assert {t.status for t in st.terminal} == {"KILLED"}
    eventually(lambda: all(not psutil.pid_exists(p) or psutil.Process(p).status() ==
                           psutil.STATUS_ZOMBIE for p in world.cluster.executor_pids()),
               timeout=30, what="executors gone")


def test_a_failing_batch_task_says_which_process_failed(world: MesosWorld,
                                                        tmp_path: Path) -> None:
    world.create(job_wire(tmp_path, "failer", "echo boom >&2; exit 3"))
    st = eventually(lambda: (s := world.status("failer")) and s.terminal and s, timeout=60,
                    what="the task FAILED")
    (task,) = st.terminal
    assert task.status == "FAILED"
    assert "main" in (task.events[-1].message or "")


def test_an_agent_lost_has_its_tasks_lost_and_rescheduled_elsewhere(
        world: MesosWorld, tmp_path: Path) -> None:
    world.create(http_service(tmp_path, "moved", 2, extra=", constraints={'host': 'limit:1'}"))
    st = eventually(lambda: world.running("moved", 2), timeout=60, what="2 RUNNING")
    victim = st.active[0]
    world.cluster.agent(victim.host).kill()
    st = eventually(lambda: (s := world.running("moved", 2)) and
                    victim.host not in {t.host for t in s.active} and s, timeout=90,
                    what="rescheduled on the other agents")
    lost = next(t for t in st.terminal if t.task_id == victim.task_id)
    assert lost.status == "LOST"


def test_master_failover_through_zookeeper_keeps_the_framework_and_its_tasks(
        make_world: Callable[..., MesosWorld], tmp_path: Path) -> None:
    world = make_world(masters=2)
    task_ids = world.create(http_service(tmp_path, "steady", 2))
    eventually(lambda: world.running("steady", 2), timeout=60, what="2 RUNNING")
    (framework,) = world.cluster.frameworks()
    world.cluster.kill_leader()
    eventually(lambda: any(f["id"] == framework["id"] and f["connected"]
                           for f in world.cluster.frameworks()),
               timeout=60, what="the framework re-subscribed with its id")
    st = eventually(lambda: world.running("steady", 2), timeout=30, what="still 2 RUNNING")
    assert sorted(t.task_id for t in st.active) == sorted(task_ids)  # nothing relaunched
    assert len(world.cluster.frameworks()) == 1


def test_scheduler_restart_fails_over_and_readopts_running_tasks(
        world: MesosWorld, tmp_path: Path) -> None:
    task_ids = world.create(http_service(tmp_path, "kept", 2))
    eventually(lambda: world.running("kept", 2), timeout=60, what="2 RUNNING")
    (framework,) = world.cluster.frameworks()
    world.daemon.stop(signal.SIGKILL)
    world.daemon.start()
    eventually(lambda: any(f["id"] == framework["id"] and f["connected"]
                           for f in world.cluster.frameworks()),
               timeout=60, what="the same framework re-subscribed")
    st = eventually(lambda: world.running("kept", 2), timeout=30, what="2 RUNNING")
    assert sorted(t.task_id for t in st.active) == sorted(task_ids)
    assert len(world.cluster.frameworks()) == 1
    assert all(len(t["task_id"]) for t in world.cluster.tasks())
    assert len([t for t in world.cluster.tasks() if t["state"] == "TASK_RUNNING"]) == 2


def test_rolling_update_on_mesos(world: MesosWorld, tmp_path: Path) -> None:
    old = job_wire(tmp_path, "rolled", "sleep 600", service=True, instances=3)
    world.create(old)
    eventually(lambda: world.running("rolled", 3), timeout=60, what="3 RUNNING")
    new = job_wire(tmp_path, "rolled", "sleep 601", service=True, instances=3,
                   extra=", update_config=UpdateConfig(batch_size=2, watch_secs=0)")
    with world.daemon.client() as c:
        started = c.start_update(new, "rolling on mesos")
        done = eventually(lambda: (u := c.update_details(KEY.format("rolled"),
                                                         started.update_id))
                          and not u.active and u, timeout=90, what="the update ended")
    assert done.status == "ROLLED_FORWARD"
    st = world.running("rolled", 3)
    assert st is not None and len(st.terminal) == 3  # the three old tasks were replaced


def test_cron_run_on_mesos(world: MesosWorld, tmp_path: Path) -> None:
    wire = job_wire(tmp_path, "nightly", "echo ran", extra=", cron_schedule='0 3 * * *'")
    with world.daemon.client() as c:
        c.schedule_cron(wire)
        c.start_cron(KEY.format("nightly"))
    st = eventually(lambda: (s := world.status("nightly")) and s.terminal and s, timeout=60,
                    what="the cron run FINISHED")
    assert [t.status for t in st.terminal] == ["FINISHED"]


def test_task_logs_are_read_from_the_agent_sandbox(world: MesosWorld, tmp_path: Path) -> None:
    (task_id,) = world.create(job_wire(tmp_path, "talker", "echo hello from mesos"))
    eventually(lambda: (s := world.status("talker")) and s.terminal, timeout=60,
               what="FINISHED")
    with world.daemon.client() as c:
        logs = eventually(lambda: (lg := c.task_logs(task_id)) and lg.processes and lg,
                          timeout=20, what="the task's processes")
        assert [p.name for p in logs.processes] == ["main"]
        (run,) = logs.processes[0].runs
        assert run.state == "SUCCESS" and run.return_code == 0
        assert "hello from mesos" in c.task_log(task_id, "main", 0, "stdout")
        with pytest.raises(NotFound):  # nothing outside the task's log directory
            c.task_log(task_id, "..", 0, "stdout")


def not_ready(daemon: Daemon, says: str) -> None:
    """The daemon answers, is not ready, says why in one line, and keeps running."""
    daemon.start(wait=False)
    health = eventually(lambda: (r := _get(f"{daemon.url}/health")) is not None
                        and says in r.text and r, timeout=30, what=f"/health saying {says!r}")
    assert health.status_code == 503 and len(health.text.strip().splitlines()) == 1
    with daemon.client() as c:
        assert c.list_jobs().jobs == []  # the API serves meanwhile
    assert daemon.proc is not None and daemon.proc.poll() is None  # no exit, no crash loop


def test_unreachable_master_is_one_line_and_not_ready(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path / "sched", tmp_path / "home",
                    ["--backend", "mesos", "--mesos-master", "127.0.0.1:9"])
    try:
        not_ready(daemon, "cannot reach Mesos master 127.0.0.1:9")
    finally:
        daemon.stop(signal.SIGKILL)
    said = [line for line in daemon.log.read_text().splitlines() if "127.0.0.1:9" in line]
    assert 1 <= len(said) <= 3, said  # said once, not once per retry


def test_a_master_refusing_the_framework_is_one_line(tmp_path: Path) -> None:
    cluster = MesosCluster(tmp_path / "mesos", agents=1, credentials=("aurora", "right"))
    cluster.start()
    secret = tmp_path / "secret"
    secret.write_text("wrong\n")
    daemon = Daemon(tmp_path / "sched", tmp_path / "home",
                    ["--backend", "mesos", "--mesos-master", cluster.master_url,
                     "--mesos-principal", "aurora", "--mesos-secret-file", str(secret)])
    try:
        not_ready(daemon, f"Mesos master {cluster.master_address} refused SUBSCRIBE: 401")
    finally:
        daemon.stop(signal.SIGKILL)
        cluster.stop()


def _in_sandbox_of(proc: psutil.Process, root: Path) -> bool:
    """Whether ``proc`` (an executor, a runner, a task's process) belongs to a container of
    the cluster under ``root``."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE and in_container(proc, root)
    except psutil.Error:
        return False


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
