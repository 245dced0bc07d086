"""Instant agents, as benchmarks use them: a hundred, answering at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.conftest import Subscribe
from tests.mesos_cluster.instant import InstantAgent
from tests.mesos_cluster.support import launch
from tests.mesos_cluster.wire import Json

pytestmark = pytest.mark.process


def task(task_id: str, offer: Json) -> Json:
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 128}}],
            "executor": {"executor_id": {"value": f"{task_id}-executor"},
                         "command": {"value": "not run by instant agents"}}}


def test_a_hundred_instant_agents_run_and_kill_tasks(tmp_path: Path,
                                                      subscribe: Subscribe) -> None:
    with MesosCluster(tmp_path, agents=100, instant=True) as cluster:
        assert all(isinstance(a, InstantAgent) for a in cluster.agents)
        framework = subscribe(cluster)
        offers = framework.offers(100)
        assert len({o["hostname"] for o in offers}) == 100
        for i, offer in enumerate(offers):
            assert launch(framework, offer, task(f"t{i}", offer)) == 202
        for i in range(100):
            running = framework.wait_update(f"t{i}", "TASK_RUNNING")
            assert running["uuid"] and running["source"] == "SOURCE_EXECUTOR"
            framework.acknowledge(running)
        eventually(lambda: sorted(t["state"] for t in cluster.tasks())
                   == ["TASK_RUNNING"] * 100, what="100 running tasks")
        for i, offer in enumerate(offers):
            framework.call("KILL", {"task_id": {"value": f"t{i}"},
                                    "agent_id": offer["agent_id"]})
        for i in range(100):
            framework.acknowledge(framework.wait_update(f"t{i}", "TASK_KILLED"))
        eventually(lambda: all(t["completed"] for t in cluster.tasks()),
                   what="every killed task acknowledged")
        assert cluster.executor_pids() == []  # nothing was launched


def test_instant_agents_retry_until_acknowledged(tmp_path: Path,
                                                 subscribe: Subscribe) -> None:
    with MesosCluster(tmp_path, agents=1, instant=True, status_update_retry=0.05) as cluster:
        framework = subscribe(cluster)
        offer = framework.offers(1)[0]
        launch(framework, offer, task("t", offer))
        eventually(lambda: len(framework.updates("t")) >= 3, what="resent updates")
        framework.acknowledge(framework.updates("t")[0])
        framework.call("KILL", {"task_id": {"value": "t"}})
        assert framework.wait_update("t", "TASK_KILLED")["uuid"]


def test_an_instant_agent_can_be_killed(tmp_path: Path, subscribe: Subscribe) -> None:
    with MesosCluster(tmp_path, agents=2, instant=True) as cluster:
        framework = subscribe(cluster)
        offer = framework.offers(2)[0]
        launch(framework, offer, task("t", offer))
        framework.acknowledge(framework.wait_update("t", "TASK_RUNNING"))
        cluster.agent(offer["hostname"]).kill()
        assert framework.wait_update("t", "TASK_LOST")["reason"] == "REASON_AGENT_REMOVED"
        assert framework.wait("FAILURE")["failure"] == {"agent_id": offer["agent_id"]}
