"""Masters elected through a real ZooKeeper: ``json.info_`` znodes, 307 from the standby,
and a failover in which the new leader learns the tasks from the re-registering agents."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kazoo.client import KazooClient

from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.conftest import Subscribe
from tests.mesos_cluster.support import (
    assert_no_executor_survives,
    executor_info,
    launch,
    task_info,
)
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration


@pytest.fixture
def zk(zookeeper_server: ZooKeeperServer) -> Iterator[KazooClient]:
    client = KazooClient(hosts=zookeeper_server.hosts)
    client.start(timeout=30)
    yield client
    client.stop()
    client.close()


def test_masters_join_zookeeper_and_the_lowest_leads(tmp_path: Path, zk: KazooClient,
                                                     zookeeper_server: ZooKeeperServer) -> None:
    path = f"/mesos-{uuid.uuid4().hex}"
    with MesosCluster(tmp_path, agents=1, masters=2, zk=zookeeper_server.hosts,
                      zk_path=path, instant=True) as cluster:
        assert cluster.master_url == f"zk://{zookeeper_server.hosts}{path}"
        children = sorted(zk.get_children(path))
        assert len(children) == 2 and all(c.startswith("json.info_") for c in children)
        info = json.loads(zk.get(f"{path}/{children[0]}")[0])
        leader = cluster.leader
        assert leader is not None
        assert info["id"] == leader.id and info["port"] == leader.port
        assert info["address"] == {"hostname": "127.0.0.1", "ip": "127.0.0.1",
                                   "port": leader.port}
        assert info["ip"] == 16777343 and info["version"] == "1.11.0"
        standby = next(m for m in cluster.masters if m is not leader)
        moved = httpx.post(f"http://{standby.address}/api/v1/scheduler", json={})
        assert moved.status_code == 307
        assert moved.headers["location"] == f"//127.0.0.1:{leader.port}/api/v1/scheduler"
        cluster.kill_leader()
        assert cluster.leader is standby
        assert len(zk.get_children(path)) == 1  # the old leader's znode went with it


def test_a_new_leader_learns_tasks_from_the_agents(tmp_path: Path, subscribe: Subscribe,
                                                   executor_script: Path,
                                                   zookeeper_server: ZooKeeperServer) -> None:
    path = f"/mesos-{uuid.uuid4().hex}"
    with MesosCluster(tmp_path, agents=2, masters=2, zk=zookeeper_server.hosts,
                      zk_path=path, heartbeat_interval=0.5) as cluster:
        framework = subscribe(cluster, checkpoint=True, failover_timeout=3600.0)
        offer = framework.offers(1)[0]
        launch(framework, offer, task_info("t1", offer, executor_info(executor_script),
                                           then="hang"))
        framework.acknowledge(framework.wait_update("t1", "TASK_RUNNING"))
        old = cluster.kill_leader()
        assert framework.ended.wait(10)  # the stream died with its master
        new = cluster.leader
        assert new is not None and new is not old
        eventually(lambda: [t["task_id"] for t in cluster.tasks()] == ["t1"],
                   what="the new leader to learn the task from its agent")
        [recovered] = cluster.frameworks()
        assert recovered["id"] == framework.framework_id and not recovered["connected"]
        again = subscribe(cluster, framework_id=framework.framework_id, checkpoint=True,
                          failover_timeout=3600.0)
        assert again.framework_id == framework.framework_id
        assert again.events[0]["subscribed"]["master_info"]["id"] == new.id
        again.call("RECONCILE", {"tasks": [{"task_id": {"value": "t1"}}]})
        assert again.wait_update("t1", "TASK_RUNNING")["reason"] == "REASON_RECONCILIATION"
        again.call("KILL", {"task_id": {"value": "t1"}})
        again.acknowledge(again.wait_update("t1", "TASK_KILLED"))
        assert len(again.offers(2)) >= 2  # both agents re-registered and offer again
    assert_no_executor_survives(cluster)
