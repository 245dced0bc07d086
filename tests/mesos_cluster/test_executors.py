"""Agents that run real executors: a tiny v1 executor (conftest.TINY_EXECUTOR) launched in
its sandbox, its updates and their acknowledgements, its exit, agent death and restart."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.eventually import eventually
from tests.mesos_cluster.agent import Agent
from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.conftest import Subscribe
from tests.mesos_cluster.raw_scheduler import Subscription
from tests.mesos_cluster.support import (
    assert_no_executor_survives,
    executor_info,
    launch,
    task_info,
)
from tests.mesos_cluster.wire import Json

pytestmark = pytest.mark.process


def real_agent(cluster: MesosCluster, offer: Json) -> Agent:
    agent = cluster.agent(offer["hostname"])
    assert isinstance(agent, Agent)
    return agent


def sandbox(cluster: MesosCluster, offer: Json, framework: Subscription,
            executor_id: str = "tiny") -> Path:
    agent = real_agent(cluster, offer)
    agent_id, framework_id = str(offer["agent_id"]["value"]), str(framework.framework_id)
    return (Path(agent.config.work_dir) / "slaves" / agent_id / "frameworks" / framework_id
            / "executors" / executor_id / "runs" / "latest")


def run_one(framework: Subscription, script: Path, task_id: str = "t1",
            **plan: Any) -> Json:
    offer = framework.offers(1)[0]
    assert launch(framework, offer, task_info(task_id, offer, executor_info(script),
                                              **plan)) == 202
    return offer


def test_the_executor_runs_in_its_sandbox_with_a_mesos_environment(
        tmp_path: Path, subscribe: Subscribe, executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1, env={"FROM_TEST": "1"}) as cluster:
        framework = subscribe(cluster, checkpoint=True)
        offer = framework.offers(1)[0]
        executor = executor_info(executor_script, command={
            "value": sys.executable, "shell": False,
            "arguments": [sys.executable, str(executor_script)],
            "environment": {"variables": [{"name": "FROM_EXECUTOR_INFO", "value": "2"}]}})
        launch(framework, offer, task_info("t1", offer, executor))
        framework.acknowledge(framework.wait_update("t1", "TASK_RUNNING"))
        finished = framework.wait_update("t1", "TASK_FINISHED")
        assert finished["source"] == "SOURCE_EXECUTOR"
        assert finished["executor_id"] == {"value": "tiny"}
        assert finished["agent_id"] == offer["agent_id"]
        directory = sandbox(cluster, offer, framework)
        env = json.loads((directory / "env.json").read_text())
        agent = real_agent(cluster, offer)
        assert env["MESOS_FRAMEWORK_ID"] == framework.framework_id
        assert env["MESOS_EXECUTOR_ID"] == "tiny"
        assert env["MESOS_SLAVE_ID"] == offer["agent_id"]["value"]
        assert env["MESOS_DIRECTORY"] == env["MESOS_SANDBOX"] == str(directory.resolve())
        assert env["MESOS_AGENT_ENDPOINT"] == f"127.0.0.1:{agent.port}"
        assert env["MESOS_CHECKPOINT"] == "1"
        assert env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "5secs"
        assert env["MESOS_RECOVERY_TIMEOUT"] == "15mins"
        assert env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] == "2secs"
        assert (env["FROM_TEST"], env["FROM_EXECUTOR_INFO"]) == ("1", "2")
        assert "PATH" in env
        assert "SUBSCRIBE 200" in (directory / "stderr").read_text()
        assert (directory / "stdout").exists()
    assert_no_executor_survives(cluster)


def test_without_checkpointing_there_is_no_recovery_environment(
        tmp_path: Path, subscribe: Subscribe, executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1) as cluster:
        framework = subscribe(cluster)
        offer = run_one(framework, executor_script)
        framework.acknowledge(framework.wait_update("t1", "TASK_RUNNING"))
        framework.wait_update("t1", "TASK_FINISHED")
        env = json.loads((sandbox(cluster, offer, framework) / "env.json").read_text())
        assert env["MESOS_CHECKPOINT"] == "0"
        assert "MESOS_RECOVERY_TIMEOUT" not in env
    assert_no_executor_survives(cluster)


def test_updates_are_resent_in_order_until_acknowledged(
        tmp_path: Path, subscribe: Subscribe, executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1, status_update_retry=0.1) as cluster:
        framework = subscribe(cluster)
        offer = run_one(framework, executor_script)
        running = framework.wait_update("t1", "TASK_RUNNING")
        assert base64.b64decode(running["uuid"]) and len(base64.b64decode(running["uuid"])) == 16
        eventually(lambda: len(framework.updates("t1")) >= 3, what="resent TASK_RUNNING")
        # Only the oldest unacknowledged update travels: TASK_FINISHED waits its turn.
        assert {u["state"] for u in framework.updates("t1")} == {"TASK_RUNNING"}
        assert {u["uuid"] for u in framework.updates("t1")} == {running["uuid"]}
        assert framework.acknowledge(running).status_code == 202
        finished = framework.wait_update("t1", "TASK_FINISHED")
        framework.acknowledge(finished)
        agent = real_agent(cluster, offer)
        eventually(lambda: not agent.actor.call(agent.updates.pending,
                                                framework.framework_id, "t1"),
                   what="no update pending once acknowledged")
        task = cluster.task("t1") or {}
        assert (task["state"], task["completed"]) == ("TASK_FINISHED", True)
        acks = [c for c in cluster.calls if c.type == "ACKNOWLEDGE"]
        assert [c.status for c in acks] == [202, 202]
    assert_no_executor_survives(cluster)


def test_an_executor_exit_fails_its_tasks(tmp_path: Path, subscribe: Subscribe,
                                          executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1) as cluster:
        framework = subscribe(cluster)
        offer = run_one(framework, executor_script, then="exit:3")
        framework.acknowledge(framework.wait_update("t1", "TASK_RUNNING"))
        failed = framework.wait_update("t1", "TASK_FAILED")
        assert failed["source"] == "SOURCE_AGENT"
        assert failed["reason"] == "REASON_EXECUTOR_TERMINATED"
        assert failed["message"] == "Command exited with status 3"
        assert failed["uuid"]  # an agent's update is reliable: it must be acknowledged
        failure = framework.wait("FAILURE")["failure"]
        assert failure == {"agent_id": offer["agent_id"], "executor_id": {"value": "tiny"},
                           "status": 3 << 8}
    assert_no_executor_survives(cluster)


def test_an_executor_that_never_subscribes_is_destroyed(
        tmp_path: Path, subscribe: Subscribe, executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1,
                      executor_registration_timeout=0.3) as cluster:
        framework = subscribe(cluster)
        offer = framework.offers(1)[0]
        silent = executor_info(executor_script, command={"value": "sleep 600"})
        launch(framework, offer, task_info("t1", offer, silent))
        failed = framework.wait_update("t1", "TASK_FAILED")
        assert failed["reason"] == "REASON_EXECUTOR_REGISTRATION_TIMEOUT"
        assert failed["message"] == "Executor did not register within 300ms"
        assert framework.wait("FAILURE")["failure"]["status"] == 9  # SIGKILL
    assert_no_executor_survives(cluster)


def test_kill_and_messages_reach_the_executor(tmp_path: Path, subscribe: Subscribe,
                                              executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1) as cluster:
        framework = subscribe(cluster)
        offer = run_one(framework, executor_script, then="hang")
        framework.acknowledge(framework.wait_update("t1", "TASK_RUNNING"))
        data = base64.b64encode(b"ping").decode()
        framework.call("MESSAGE", {"agent_id": offer["agent_id"],
                                   "executor_id": {"value": "tiny"}, "data": data})
        assert framework.wait("MESSAGE")["message"] == {
            "agent_id": offer["agent_id"], "executor_id": {"value": "tiny"}, "data": data}
        framework.call("KILL", {"task_id": {"value": "t1"}, "agent_id": offer["agent_id"]})
        killed = framework.wait_update("t1", "TASK_KILLED")
        assert killed["source"] == "SOURCE_EXECUTOR"
    assert_no_executor_survives(cluster)


def test_teardown_shuts_the_executors_down(tmp_path: Path, subscribe: Subscribe,
                                           executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1) as cluster:
        framework = subscribe(cluster)
        offer = run_one(framework, executor_script, then="hang")
        framework.wait_update("t1", "TASK_RUNNING")
        [pid] = cluster.executor_pids()
        framework.call("TEARDOWN")
        eventually(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status()
                   == "zombie", what="the executor to shut down")
        stderr = (sandbox(cluster, offer, framework) / "stderr").read_text()
        assert "EVENT SHUTDOWN" in stderr
    assert_no_executor_survives(cluster)


@pytest.mark.parametrize(("capabilities", "state"), [
    ([], "TASK_LOST"), ([{"type": "PARTITION_AWARE"}], "TASK_UNREACHABLE")])
def test_a_killed_agent_loses_its_tasks(tmp_path: Path, subscribe: Subscribe,
                                        executor_script: Path, capabilities: list[Json],
                                        state: str) -> None:
    with MesosCluster(tmp_path / "cluster", agents=2) as cluster:
        framework = subscribe(cluster, capabilities=capabilities)
        first = framework.offers(2)[0]
        seen = len(framework.events)
        launch(framework, first, task_info("t1", first, executor_info(executor_script),
                                           then="hang"), filters={"refuse_seconds": 0})
        framework.wait_update("t1", "TASK_RUNNING")
        rest = framework.wait("OFFERS", lambda e: e["offers"]["offers"][0]["agent_id"]
                              == first["agent_id"], after=seen)["offers"]["offers"][0]
        [pid] = cluster.executor_pids()
        real_agent(cluster, first).kill()
        lost = framework.wait_update("t1", state)
        assert lost["reason"] == "REASON_AGENT_REMOVED" and "uuid" not in lost
        assert lost["unreachable_time"]["nanoseconds"] > 0  # set for TASK_LOST too, as Mesos
        assert framework.wait("FAILURE")["failure"] == {"agent_id": first["agent_id"]}
        assert framework.wait("RESCIND")["rescind"] == {"offer_id": rest["id"]}
        eventually(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status()
                   == "zombie", what="the executor to die with its agent")
        assert {t["task_id"]: t["state"] for t in cluster.tasks()} == {"t1": state}
    assert_no_executor_survives(cluster)


def test_a_restarted_agent_keeps_checkpointed_executors(
        tmp_path: Path, subscribe: Subscribe, executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1) as cluster:
        durable = subscribe(cluster, "durable", checkpoint=True)
        offer = durable.offers(1)[0]
        launch(durable, offer, task_info("kept", offer, executor_info(executor_script),
                                         then="hang"))
        durable.acknowledge(durable.wait_update("kept", "TASK_RUNNING"))
        fragile = subscribe(cluster, "fragile")
        offer = fragile.offers(1)[0]
        launch(fragile, offer, task_info("gone", offer, executor_info(executor_script),
                                         then="hang"))
        fragile.acknowledge(fragile.wait_update("gone", "TASK_RUNNING"))
        kept_pid, gone_pid = cluster.executor_pids()
        agent = real_agent(cluster, offer)
        port = agent.port
        agent.restart(downtime=0.2)
        assert agent.port == port
        eventually(lambda: agent.registered, what="the agent to re-register")
        subscribes = [c for c in cluster.executor_calls if c.type == "SUBSCRIBE"]
        assert len(subscribes) == 3  # two launches, one re-subscription
        assert psutil.pid_exists(kept_pid)
        lost = fragile.wait_update("gone", "TASK_LOST")  # not checkpointed: not recovered
        assert lost["message"] == "Reconciliation: task unknown to the agent"
        eventually(lambda: not psutil.pid_exists(gone_pid) or psutil.Process(gone_pid).status()
                   == "zombie", what="the uncheckpointed executor to be destroyed")
        durable.call("KILL", {"task_id": {"value": "kept"}})
        assert durable.wait_update("kept", "TASK_KILLED")["source"] == "SOURCE_EXECUTOR"
    assert_no_executor_survives(cluster)


def test_the_executor_api_refuses_what_a_real_agent_refuses(
        tmp_path: Path, subscribe: Subscribe, executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1) as cluster:
        framework = subscribe(cluster)
        offer = framework.offers(1)[0]
        silent = executor_info(executor_script, command={"value": "sleep 600"})
        launch(framework, offer, task_info("t1", offer, silent))
        agent = real_agent(cluster, offer)
        eventually(lambda: cluster.executor_pids(), what="the executor's launch")
        url = f"http://127.0.0.1:{agent.port}/api/v1/executor"
        ids = {"framework_id": {"value": framework.framework_id},
               "executor_id": {"value": "tiny"}}
        status = {"task_id": {"value": "t1"}, "state": "TASK_RUNNING",
                  "source": "SOURCE_EXECUTOR", "uuid": base64.b64encode(bytes(16)).decode()}

        def post(body: Json) -> httpx.Response:
            return httpx.post(url, json=body)

        early = post({**ids, "type": "UPDATE", "update": {"status": status}})
        assert (early.status_code, early.text) == (403, "Executor is not subscribed")
        stranger = post({**ids, "executor_id": {"value": "other"}, "type": "HEARTBEAT"})
        assert stranger.status_code == 202  # heartbeats are not checked further
        unknown = post({**ids, "executor_id": {"value": "other"}, "type": "MESSAGE",
                        "message": {"data": ""}})
        assert (unknown.status_code, unknown.text) == (400, "Executor cannot be found")
        no_uuid = post({**ids, "type": "UPDATE", "update": {"status": {
            k: v for k, v in status.items() if k != "uuid"}}})
        assert no_uuid.text == "Failed to validate Executor::Call: Expecting 'uuid' to be present"
        staging = post({**ids, "type": "UPDATE", "update": {"status": {
            **status, "state": "TASK_STAGING"}}})
        assert staging.status_code == 400 and "TASK_STAGING" in staging.text
        misspelt = post({**ids, "type": "UPDATE", "update": {"status": {**status,
                                                                        "stat": "x"}}})
        assert misspelt.text.endswith("call.update.status.stat: unknown field (not in"
                                      " TaskStatus)")
    assert_no_executor_survives(cluster)


def test_command_tasks_run_as_mesos_command_executor_runs_them(
        tmp_path: Path, subscribe: Subscribe) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1) as cluster:
        framework = subscribe(cluster, capabilities=[{"type": "TASK_KILLING_STATE"}])
        offer = framework.offers(1)[0]
        resources = [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}]

        def command_task(task_id: str, command: str) -> Json:
            return {"name": task_id, "task_id": {"value": task_id},
                    "agent_id": offer["agent_id"], "resources": resources,
                    "command": {"value": command}}

        launch(framework, offer, command_task("ok", "echo hello"),
               command_task("bad", "exit 3"), command_task("long", "exec sleep 600"))
        for task_id in ("ok", "bad", "long"):
            starting = framework.wait_update(task_id, "TASK_STARTING")
            assert starting["executor_id"] == {"value": task_id}  # the executor is the task
            framework.acknowledge(starting)
            framework.acknowledge(framework.wait_update(task_id, "TASK_RUNNING"))
        done = framework.wait_update("ok", "TASK_FINISHED")
        assert (done["source"], done["message"]) == ("SOURCE_EXECUTOR",
                                                     "Command exited with status 0")
        assert framework.wait_update("bad", "TASK_FAILED")["message"] == (
            "Command exited with status 3")
        framework.call("KILL", {"task_id": {"value": "long"}})
        framework.acknowledge(framework.wait_update("long", "TASK_KILLING"))
        assert framework.wait_update("long", "TASK_KILLED")["message"] == (
            "Command terminated with signal SIGTERM")
        directory = (Path(real_agent(cluster, offer).config.work_dir) / "slaves"
                     / offer["agent_id"]["value"] / "frameworks" / str(framework.framework_id)
                     / "executors" / "ok" / "runs" / "latest")
        assert (directory / "stdout").read_text() == "hello\n"
        assert framework.of("FAILURE") == []  # a command executor's end is no failure
    assert_no_executor_survives(cluster)


def test_a_running_executor_gets_more_tasks_heartbeats_and_shutdown(
        tmp_path: Path, subscribe: Subscribe, executor_script: Path) -> None:
    with MesosCluster(tmp_path / "cluster", agents=1,
                      executor_heartbeat_interval=0.1) as cluster:
        framework = subscribe(cluster)
        offer = run_one(framework, executor_script, "first", then="hang", stay=True)
        framework.acknowledge(framework.wait_update("first", "TASK_RUNNING"))
        seen = len(framework.events)
        framework.call("REVIVE")
        again = framework.wait("OFFERS", after=seen)["offers"]["offers"][0]
        assert again["executor_ids"] == [{"value": "tiny"}]  # offers name running executors
        launch(framework, again, task_info("second", again, executor_info(executor_script),
                                           then="hang"))
        framework.acknowledge(framework.wait_update("second", "TASK_RUNNING"))
        assert len(cluster.executor_pids()) == 1  # one executor for both tasks
        stderr = sandbox(cluster, offer, framework) / "stderr"
        eventually(lambda: "EVENT HEARTBEAT" in stderr.read_text(), what="a heartbeat")
        framework.call("SHUTDOWN", {"executor_id": {"value": "tiny"},
                                    "agent_id": offer["agent_id"]})
        for task_id in ("first", "second"):
            assert framework.wait_update(task_id, "TASK_KILLED")["message"] == "shutdown"
        failure = framework.wait("FAILURE")["failure"]
        assert (failure["executor_id"], failure["status"]) == ({"value": "tiny"}, 0)
    assert_no_executor_survives(cluster)
