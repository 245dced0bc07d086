"""Scheduler failover on the test Mesos cluster: three real ``aurora-scheduler`` replicas
elect a leader in a real ZooKeeper and share one store; the leader is killed with SIGKILL.

The replica that leads next must subscribe as the same framework (the master fails the
framework over rather than registering a second one), reconcile, carry on what the dead
leader was doing, and leave the cluster running exactly the job's instances: nothing
lost, nothing launched twice. Counted three ways: the scheduler's active tasks, the
master's tasks, and the executors the agents run.
"""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.api import models as m
from tests.daemon import Daemon, mesos_flags
from tests.eventually import eventually
from tests.mesos_cluster.agent import Agent
from tests.mesos_cluster.cluster import MesosCluster
from tests.replicas import Replicas, replicas
from tests.scheduler.conftest import job_wire
from tests.scheduler.test_containers import kill_left_under
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration

KEY = "devcluster/www/test/{}"


class FailoverWorld:
    """The test Mesos cluster and the replicas scheduling on it."""

    def __init__(self, cluster: MesosCluster, group: Replicas, db_url: str) -> None:
        self.cluster = cluster
        self.group = group
        self.db_url = db_url

    def status(self, name: str) -> m.JobStatus:
        with self.group.client() as c:
            return c.job_status(KEY.format(name))

    def running(self, name: str, count: int) -> m.JobStatus | None:
        st = self.status(name)
        running = [t for t in st.active if t.status == "RUNNING"]
        return st if len(running) == count == len(st.active) else None

    def wait_running(self, name: str, count: int) -> m.JobStatus:
        """Once the job runs ``count`` tasks and has no other active one."""
        st = eventually(lambda: self.running(name, count), timeout=60,
                        what=f"{count} tasks of {name} RUNNING")
        assert st is not None
        return st

    def framework_id(self) -> str:
        (framework,) = eventually(self.cluster.frameworks, timeout=30,
                                  what="a framework subscribed")
        return str(framework["id"])

    def subscriptions(self, since: int = 0) -> list[str | None]:
        """The framework id of every SUBSCRIBE the master accepted after its first ``since``
        calls (None: a new framework).

        Read from the call's own ``framework_id`` (a failover sets it): the master fills
        in ``framework_info.id`` of a new framework's call in place."""
        return [call.body.get("framework_id", {}).get("value")
                for call in list(self.cluster.calls)[since:]
                if call.type == "SUBSCRIBE" and call.status == 200]

    def reconciled_since(self, calls: int) -> bool:
        """Whether a RECONCILE reached the master after its first ``calls`` calls."""
        return any(call.type == "RECONCILE" and call.status == 202
                   for call in list(self.cluster.calls)[calls:])

    def launched(self) -> list[str]:
        """Every task id the schedulers asked the master to launch (in an accepted call)."""
        return [task["task_id"]["value"]
                for call in list(self.cluster.calls)
                if call.type == "ACCEPT" and call.status == 202
                for operation in call.body["accept"].get("operations", [])
                if operation.get("type") == "LAUNCH"
                for task in operation["launch"].get("task_infos", [])]

    def live_executors(self) -> set[str]:
        """The executors the agents run (neither terminating nor terminated)."""
        return {e.id for agent in self.cluster.agents if isinstance(agent, Agent)
                for e in agent.all_executors() if e.state in ("REGISTERING", "RUNNING")}

    def master_running(self) -> set[str]:
        return {t["task_id"] for t in self.cluster.tasks() if t["state"] == "TASK_RUNNING"}


@pytest.fixture
def world(tmp_path: Path, zookeeper_server: ZooKeeperServer,
          postgres_url: str) -> Iterator[FailoverWorld]:
    try:
        with MesosCluster(tmp_path / "mesos", agents=3, heartbeat_interval=1.0) as cluster, \
                replicas(tmp_path / "replicas", zookeeper_server.hosts, postgres_url,
                         zk_path=f"/ha-on-mesos/{uuid.uuid4().hex}",
                         extra=(*mesos_flags(cluster, tmp_path),)) as group:
            yield FailoverWorld(cluster, group, postgres_url)
    finally:
        kill_left_under(tmp_path)


def assert_exactly_once(world: FailoverWorld, name: str, instances: int,
                        framework_id: str) -> m.JobStatus:
    """The job runs ``instances`` tasks, one per instance, on the one framework; the master
    and the agents run exactly those; every task ever launched for the job was launched
    once, and is one the scheduler knows."""
    st = world.wait_running(name, instances)
    assert sorted(t.instance for t in st.active) == list(range(instances))
    assert not [t for t in st.terminal if t.status == "LOST"], history(world, name)
    prefix = f"www-test-{name}-"  # task ids are role-environment-name-instance-uuid
    known = {t.task_id for t in st.active + st.terminal}
    launched = [t for t in world.launched() if t.startswith(prefix)]
    twice = [t for t, n in Counter(launched).items() if n > 1]
    assert not twice, f"launched more than once: {twice}"
    assert set(launched) == known, f"launched {sorted(launched)}, known {sorted(known)}"
    active = {t.task_id for t in st.active}
    eventually(lambda: {t for t in world.master_running() if t.startswith(prefix)} == active,
               timeout=30, what=f"the master running exactly {sorted(active)}")
    executors = {f"thermos-{t}" for t in active}
    eventually(lambda: {e for e in world.live_executors()
                        if e.startswith(f"thermos-{prefix}")} == executors,
               timeout=60, what=f"the agents running exactly {sorted(executors)}")
    frameworks = world.cluster.frameworks()
    assert [(f["id"], f["connected"]) for f in frameworks] == [(framework_id, True)]
    subscribed = world.subscriptions()
    assert subscribed.count(None) == 1, f"registered more than once: {subscribed}"
    assert set(subscribed) == {None, framework_id}
    return st


def history(world: FailoverWorld, name: str, update: m.UpdateDetails | None = None) -> str:
    """What the update and the job's tasks went through, to read when a test fails."""
    lines: list[str] = []
    if update is not None:
        lines += [f"update {u.status} {u.message or ''}" for u in update.events]
        lines += [f"instance {e.instance} {e.action}" for e in update.instance_events]
    st = world.status(name)
    for task in sorted(st.active + st.terminal, key=lambda t: (t.instance, t.created_at)):
        events = ", ".join(f"{e.status}" + (f" ({e.message})" if e.message else "")
                           for e in task.events)
        lines.append(f"{task.task_id} on {task.host}: {events}")
    return "\n".join(lines)


def roll_through_a_failover(world: FailoverWorld, tmp_path: Path, name: str,
                            kill: Callable[[Daemon, set[str]], None]) -> None:
    """A rolling update of 3 instances, one at a time, during which ``kill(leader, old
    task ids)`` kills the leader; the next one must finish it."""
    first = world.group.wait_leader()
    with world.group.client(first) as c:
        c.create_job(job_wire(tmp_path, name, "sleep 600", service=True, instances=3))
    old = {t.task_id for t in world.wait_running(name, 3).active}
    framework_id = world.framework_id()
    new = job_wire(tmp_path, name, "sleep 601", service=True, instances=3,
                   extra=", update_config=UpdateConfig(batch_size=1, watch_secs=1)")
    with world.group.client(first) as c:
        update_id = c.start_update(new, "rolling through a failover").update_id
    before_kill = len(world.cluster.calls)
    kill(first, old)
    successor = world.group.wait_leader(other_than=first)
    eventually(lambda: world.reconciled_since(before_kill), timeout=60,
               what="the new leader reconciling with the master")
    assert set(world.subscriptions(before_kill)) == {framework_id}  # a failover

    with world.group.client(successor) as c:
        def ended() -> m.UpdateDetails | None:
            details = c.update_details(KEY.format(name), update_id)
            return None if details.active else details
        done = eventually(ended, timeout=90, what="the update to end")
        assert done is not None
        assert done.status == "ROLLED_FORWARD", history(world, name, done)
        assert c.diff(new).unchanged == [0, 1, 2]
    st = assert_exactly_once(world, name, 3, framework_id)
    # Each instance replaced once: its old task killed, none lost or started again.
    assert sorted(t.task_id for t in st.terminal) == sorted(old), history(world, name, done)
    assert {t.status for t in st.terminal} == {"KILLED"}


def test_leader_killed_mid_update_the_next_fails_the_framework_over_and_rolls_forward(
        world: FailoverWorld, tmp_path: Path) -> None:
    def while_instance_1_is_watched(leader: Daemon, old: set[str]) -> None:
        # Instance 0 is done, 1 runs its new task for watch_secs, 2 is still old.
        def watched() -> bool:
            return any(t.instance == 1 and t.task_id not in old and t.status == "RUNNING"
                       for t in world.status("rolled").active)
        eventually(watched, timeout=60, what="instance 1's new task RUNNING")
        leader.stop(signal.SIGKILL)

    roll_through_a_failover(world, tmp_path, "rolled", while_instance_1_is_watched)


def test_leader_killed_right_after_a_create_the_next_runs_the_job_once(
        world: FailoverWorld, tmp_path: Path) -> None:
    name = "created"
    # A job first, so the framework is registered and its id stored before the kill.
    with world.group.client() as c:
        c.create_job(job_wire(tmp_path, "before", "sleep 600", service=True))
    world.wait_running("before", 1)
    framework_id = world.framework_id()

    leader = world.group.wait_leader()
    wire: dict[str, Any] = job_wire(tmp_path, name, "sleep 600", service=True, instances=3)
    with world.group.client(leader) as c:
        created = c.create_job(wire).task_ids
    assert len(created) == 3
    before_kill = len(world.cluster.calls)
    leader.stop(signal.SIGKILL)
    world.group.wait_leader(other_than=leader)
    eventually(lambda: world.reconciled_since(before_kill), timeout=60,
               what="the new leader reconciling with the master")
    assert set(world.subscriptions(before_kill)) == {framework_id}  # a failover

    st = assert_exactly_once(world, name, 3, framework_id)
    assert sorted(t.task_id for t in st.active) == sorted(created)  # launched once
    assert st.terminal == []
    assert_exactly_once(world, "before", 1, framework_id)

