"""The test master's scheduler API, spoken with raw httpx: subscription, offers, filters,
the HTTP checks, invalid launches, reconciliation, teardown."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.eventually import eventually
from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.conftest import Subscribe
from tests.mesos_cluster.raw_scheduler import Subscription, framework_info
from tests.mesos_cluster.support import launch
from tests.mesos_cluster.wire import Json

pytestmark = pytest.mark.process

SCHEDULER = "/api/v1/scheduler"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[MesosCluster]:
    with MesosCluster(tmp_path, agents=2, heartbeat_interval=0.2) as running:
        yield running


@pytest.fixture
def instant(tmp_path: Path) -> Iterator[MesosCluster]:
    with MesosCluster(tmp_path, agents=2, instant=True, status_update_retry=0.2) as running:
        yield running


def instant_task(task_id: str, offer: Json) -> Json:
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}],
            "executor": {"executor_id": {"value": f"{task_id}-executor"},
                         "command": {"value": "unused"}}}


def post(cluster: MesosCluster, body: object, **headers: str) -> httpx.Response:
    return httpx.post(f"http://{cluster.master_address}{SCHEDULER}", json=body,
                      headers=headers, timeout=10)


def test_subscribe_streams_subscribed_then_heartbeats(cluster: MesosCluster,
                                                      subscribe: Subscribe) -> None:
    framework = subscribe(cluster, "first")
    assert framework.status == 200 and len(framework.stream_id or "") == 36
    subscribed = framework.events[0]["subscribed"]
    leader = cluster.leader
    assert leader is not None
    assert subscribed["framework_id"]["value"] == f"{leader.id}-0000"
    assert subscribed["heartbeat_interval_seconds"] == 0.2
    info = subscribed["master_info"]
    assert info["address"] == {"hostname": "127.0.0.1", "ip": "127.0.0.1",
                               "port": leader.port}
    assert info["ip"] == 16777343 and info["id"] == leader.id
    framework.wait("HEARTBEAT")
    [summary] = cluster.frameworks()
    assert summary["id"] == framework.framework_id and summary["connected"]
    assert subscribe(cluster, "second").framework_id == f"{leader.id}-0001"


def test_offers_have_the_shape_of_a_real_agents(cluster: MesosCluster,
                                                subscribe: Subscribe) -> None:
    framework = subscribe(cluster)
    offers = framework.offers(2)
    assert len({o["id"]["value"] for o in offers}) == len(offers)
    assert {o["hostname"] for o in offers} == {"agent-0", "agent-1"}
    assert {o["agent_id"]["value"] for o in offers} == set(cluster.agent_ids())
    ports = []
    for offer in offers:
        assert offer["framework_id"]["value"] == framework.framework_id
        assert "allocation_info" not in offer  # not a MULTI_ROLE framework
        by_name = {r["name"]: r for r in offer["resources"]}
        assert set(by_name) == {"cpus", "mem", "disk", "ports"}
        assert all(r["role"] == "*" for r in offer["resources"])
        assert by_name["cpus"] == {"name": "cpus", "type": "SCALAR",
                                   "scalar": {"value": 4.0}, "role": "*"}
        [span] = by_name["ports"]["ranges"]["range"]
        ports.append((span["begin"], span["end"]))
        assert {a["name"]: a["text"]["value"] for a in offer["attributes"]}["host"] == (
            offer["hostname"])
        agent = cluster.agent(offer["hostname"])
        assert offer["url"] == {"scheme": "http", "path": "/slave(1)", "address": {
            "hostname": offer["hostname"], "ip": "127.0.0.1", "port": agent.port}}
    (b0, e0), (b1, e1) = sorted(ports)
    assert 31000 <= b0 <= e0 < b1 <= e1 <= 32000


def test_a_multi_role_framework_gets_offers_for_its_role(cluster: MesosCluster,
                                                         subscribe: Subscribe) -> None:
    framework = subscribe(cluster, roles=["aurora"], capabilities=[{"type": "MULTI_ROLE"}])
    offer = framework.offers(1)[0]
    assert offer["allocation_info"] == {"role": "aurora"}
    assert all(r["allocation_info"] == {"role": "aurora"} for r in offer["resources"])


def test_declined_agents_are_refused_until_revive(cluster: MesosCluster,
                                                  subscribe: Subscribe) -> None:
    framework = subscribe(cluster)
    first, second = framework.offers(2)[:2]
    refused = framework.call("DECLINE", {"offer_ids": [first["id"]],
                                         "filters": {"refuse_seconds": 3600}})
    assert refused.status_code == 202 and refused.content == b""
    seen = len(framework.events)
    framework.call("DECLINE", {"offer_ids": [second["id"]], "filters": {"refuse_seconds": 0}})
    # The second agent comes back at once: allocation ran, and skipped the first agent.
    again = framework.wait("OFFERS", after=seen)["offers"]["offers"]
    assert [o["hostname"] for o in again] == [second["hostname"]]
    seen = len(framework.events)
    assert framework.call("REVIVE").status_code == 202
    revived = framework.wait("OFFERS", after=seen)["offers"]["offers"]
    assert [o["hostname"] for o in revived] == [first["hostname"]]


def test_suppressed_frameworks_get_no_offers_until_revive(cluster: MesosCluster,
                                                          subscribe: Subscribe) -> None:
    quiet = subscribe(cluster, "quiet")
    offers = quiet.offers(2)
    assert quiet.call("SUPPRESS").status_code == 202
    quiet.call("DECLINE", {"offer_ids": [o["id"] for o in offers],
                           "filters": {"refuse_seconds": 0}})
    other = subscribe(cluster, "other")
    assert len(other.offers(2)) == 2  # what the suppressed framework returned went there
    assert len(quiet.offers(0)) == 2 and cluster.frameworks()[0]["suppressed_roles"] == ["*"]
    seen = len(quiet.events)
    other.call("DECLINE", {"offer_ids": [o["id"] for o in other.offers(2)],
                           "filters": {"refuse_seconds": 3600}})
    quiet.call("REVIVE")
    assert quiet.wait("OFFERS", after=seen)


def test_calls_need_their_stream_id(cluster: MesosCluster, subscribe: Subscribe) -> None:
    framework = subscribe(cluster)
    missing = framework.call("REVIVE", headers={"Mesos-Stream-Id": ""})
    assert missing.status_code == 400  # an empty header is a wrong one
    body: Json = {"type": "REVIVE", "framework_id": {"value": framework.framework_id}}
    absent = post(cluster, body)
    assert absent.status_code == 400
    assert absent.text == ("All non-subscribe calls should include the 'Mesos-Stream-Id'"
                           " header")
    wrong = framework.call("REVIVE", stream_id="not-my-stream")
    assert wrong.status_code == 400 and "didn't match the stream ID" in wrong.text
    unknown = post(cluster, {"type": "REVIVE", "framework_id": {"value": "nobody"}},
                   **{"Mesos-Stream-Id": framework.stream_id or ""})
    assert (unknown.status_code, unknown.text) == (400, "Framework cannot be found")
    assert [c.status for c in cluster.calls if c.type == "REVIVE"] == [400, 400, 400, 400]


def test_a_disconnected_framework_gets_403_and_can_fail_over(
        cluster: MesosCluster, subscribe: Subscribe) -> None:
    first = subscribe(cluster, failover_timeout=3600.0)
    first.disconnect()
    eventually(lambda: not cluster.frameworks()[0]["connected"], what="a disconnection")
    refused = first.call("REVIVE")
    assert (refused.status_code, refused.text) == (403, "Framework is not subscribed")
    second = subscribe(cluster, framework_id=first.framework_id, failover_timeout=3600.0)
    assert second.framework_id == first.framework_id
    assert second.call("REVIVE").status_code == 202
    assert first.call("REVIVE").status_code == 400  # its stream id is not the current one


def test_a_failover_ends_the_old_subscription(cluster: MesosCluster,
                                              subscribe: Subscribe) -> None:
    old = subscribe(cluster, failover_timeout=60.0)
    new = subscribe(cluster, framework_id=old.framework_id, failover_timeout=60.0)
    assert old.wait("ERROR")["error"] == {"message": "Framework failed over"}
    assert old.ended.wait(10)
    assert new.events[0]["type"] == "SUBSCRIBED"
    assert old.call("REVIVE").status_code == 400
    assert [f["connected"] for f in cluster.frameworks()] == [True]


def test_a_misspelt_field_is_refused_naming_it(cluster: MesosCluster,
                                               subscribe: Subscribe) -> None:
    framework = subscribe(cluster)
    offer = framework.offers(1)[0]
    task = {"name": "t", "task_id": {"value": "t"}, "agent_id": offer["agent_id"],
            "resourcs": [], "command": {"value": "true"}}
    answer = framework.call("ACCEPT", {"offer_ids": [offer["id"]], "operations": [
        {"type": "LAUNCH", "launch": {"task_infos": [task]}}]})
    assert answer.status_code == 400
    assert answer.text == ("Failed to convert JSON into Call protobuf: call.accept."
                           "operations[0].launch.task_infos[0].resourcs: unknown field (not in"
                           " TaskInfo)")
    no_type = post(cluster, {"subscribe": {"framework_info": framework_info()}})
    assert no_type.text == "Failed to validate scheduler::Call: Expecting 'type' to be present"


def test_media_types_and_methods_are_checked(cluster: MesosCluster) -> None:
    url = f"http://{cluster.master_address}{SCHEDULER}"
    subscribe_call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info()}}
    assert httpx.get(url).status_code == 405
    text = httpx.post(url, content=b"{}", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    charset = httpx.post(url, content=b"{}",
                         headers={"Content-Type": "application/json; charset=utf-8"})
    assert charset.status_code == 415  # Mesos compares the header exactly
    assert httpx.post(url, content=b"{}").status_code == 400  # no Content-Type at all
    assert httpx.post(url, content=b"{", headers={"Content-Type": "application/json"}
                      ).text.startswith("Failed to parse body into JSON")
    protobuf = post(cluster, subscribe_call, Accept="application/x-protobuf")
    assert protobuf.status_code == 406
    with_stream = post(cluster, subscribe_call, **{"Mesos-Stream-Id": "x"})
    assert with_stream.status_code == 400 and "should not include" in with_stream.text


def test_required_credentials(tmp_path: Path, subscribe: Subscribe) -> None:
    with MesosCluster(tmp_path, agents=1, credentials=("aurora", "secret")) as cluster:
        anonymous = post(cluster, {"type": "SUBSCRIBE",
                                   "subscribe": {"framework_info": framework_info()}})
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Basic realm="mesos-master-scheduler"'
        wrong = Subscription(cluster.master_address, framework_info(),
                             auth=("aurora", "guess")).start()
        assert wrong.status == 401
        wrong.close()
        framework = subscribe(cluster, auth=("aurora", "secret"))
        assert framework.status == 200
        assert cluster.frameworks()[0]["principal"] == "aurora"
        assert framework.call("REVIVE").status_code == 202
        basic = base64.b64encode(b"aurora:secret").decode()
        other = post(cluster, {"type": "SUBSCRIBE", "subscribe": {
            "framework_info": framework_info(principal="someone")}},
            Authorization=f"Basic {basic}")
        assert other.status_code == 400 and "does not match principal" in other.text


def test_invalid_launches_get_the_updates_of_a_real_master(instant: MesosCluster,
                                                           subscribe: Subscribe) -> None:
    framework = subscribe(instant)
    first, second = framework.offers(2)[:2]
    gone = {"value": "no-such-offer"}
    framework.call("ACCEPT", {"offer_ids": [gone], "operations": [
        {"type": "LAUNCH", "launch": {"task_infos": [instant_task("lost", first)]}}]})
    lost = framework.wait_update("lost", "TASK_LOST")
    assert lost["reason"] == "REASON_INVALID_OFFERS" and lost["source"] == "SOURCE_MASTER"
    assert "uuid" not in lost  # master-made updates need no acknowledgement
    assert lost["message"] == "Task launched with invalid offers: Offer no-such-offer is no" \
        " longer valid"
    greedy = instant_task("greedy", first)
    greedy["resources"][0]["scalar"]["value"] = 100.0
    duplicate = instant_task("twice", first)
    launch(framework, first, instant_task("twice", first), duplicate, greedy)
    framework.wait_update("twice", "TASK_RUNNING")
    error = framework.wait_update("twice", "TASK_ERROR")
    assert error["message"] == "Task has duplicate ID: twice"
    assert error["reason"] == "REASON_TASK_INVALID" and "uuid" not in error
    assert "is more than available" in framework.wait_update("greedy", "TASK_ERROR")["message"]
    both = dict(instant_task("both", second), command={"value": "true"})
    launch(framework, second, both)
    assert "not both" in framework.wait_update("both", "TASK_ERROR")["message"]


def test_kill_and_reconcile_of_unknown_tasks(instant: MesosCluster,
                                             subscribe: Subscribe) -> None:
    plain = subscribe(instant, "plain")
    aware = subscribe(instant, "aware", capabilities=[{"type": "PARTITION_AWARE"}])
    agent_id = instant.agent_ids()[0]
    plain.call("KILL", {"task_id": {"value": "ghost"}})
    lost = plain.wait_update("ghost", "TASK_LOST")
    assert lost["reason"] == "REASON_RECONCILIATION" and "uuid" not in lost
    aware.call("KILL", {"task_id": {"value": "ghost"}})
    assert aware.wait_update("ghost", "TASK_UNKNOWN")["message"] == (
        "Reconciliation: Task is unknown")
    aware.call("RECONCILE", {"tasks": [{"task_id": {"value": "gone"},
                                        "agent_id": {"value": agent_id}}]})
    assert aware.wait_update("gone", "TASK_GONE")["message"] == (
        "Reconciliation: Task is unknown to the agent")


def test_reconciliation_explicit_and_implicit(instant: MesosCluster,
                                              subscribe: Subscribe) -> None:
    framework = subscribe(instant)
    offers = framework.offers(2)
    for name, offer in zip(("a", "b"), offers, strict=True):
        launch(framework, offer, instant_task(name, offer))
        framework.acknowledge(framework.wait_update(name, "TASK_RUNNING"))
    seen = len(framework.events)
    framework.call("RECONCILE", {"tasks": [{"task_id": {"value": "a"}}]})
    status = framework.wait("UPDATE", after=seen)["update"]["status"]
    assert (status["task_id"]["value"], status["state"]) == ("a", "TASK_RUNNING")
    assert status["reason"] == "REASON_RECONCILIATION" and "uuid" not in status
    assert status["agent_id"] == offers[0]["agent_id"]
    seen = len(framework.events)
    framework.call("RECONCILE", {})

    def answered() -> dict[str, str]:
        return {e["update"]["status"]["task_id"]["value"]: e["update"]["status"]["state"]
                for e in framework.events[seen:] if e["type"] == "UPDATE"
                and e["update"]["status"].get("reason") == "REASON_RECONCILIATION"}

    expected = {"a": "TASK_RUNNING", "b": "TASK_RUNNING"}
    eventually(lambda: answered() == expected, what="an answer for every task")
    assert {t["task_id"]: t["state"] for t in instant.tasks()} == expected


def test_teardown_removes_the_framework_for_good(instant: MesosCluster,
                                                 subscribe: Subscribe) -> None:
    framework = subscribe(instant, failover_timeout=3600.0)
    offer = framework.offers(1)[0]
    launch(framework, offer, instant_task("doomed", offer))
    framework.wait_update("doomed", "TASK_RUNNING")
    assert framework.call("TEARDOWN").status_code == 202
    assert framework.ended.wait(10)
    assert instant.frameworks() == []
    assert [(t["task_id"], t["state"]) for t in instant.tasks()] == [("doomed", "TASK_KILLED")]
    again = subscribe(instant, framework_id=framework.framework_id)
    assert again.wait("ERROR")["error"]["message"] == "Framework has been removed"


def test_a_framework_is_removed_after_its_failover_timeout(instant: MesosCluster,
                                                           subscribe: Subscribe) -> None:
    framework = subscribe(instant, failover_timeout=0.2)
    offer = framework.offers(1)[0]
    launch(framework, offer, instant_task("orphan", offer))
    framework.wait_update("orphan", "TASK_RUNNING")
    framework.disconnect()
    eventually(lambda: instant.frameworks() == [], what="the framework's removal")
    assert (instant.task("orphan") or {}).get("state") == "TASK_KILLED"
    agent = instant.agents[0]
    eventually(lambda: not agent.actor.call(lambda: dict(agent.frameworks)),
               what="the agents to shut the framework down")


def test_a_standby_redirects_to_the_leader(tmp_path: Path) -> None:
    with MesosCluster(tmp_path, agents=1, masters=2) as cluster:
        leader = cluster.leader
        standby = next(m for m in cluster.masters if m is not leader)
        assert leader is not None
        answer = httpx.post(f"http://{standby.address}{SCHEDULER}", json={})
        assert answer.status_code == 307
        assert answer.headers["location"] == f"//127.0.0.1:{leader.port}{SCHEDULER}"
        redirect = httpx.get(f"http://{standby.address}/redirect")
        assert (redirect.status_code, redirect.headers["location"]) == (
            307, f"//127.0.0.1:{leader.port}")
        state = httpx.get(f"http://{leader.address}/master/state").json()
        assert state["elected"] and len(state["slaves"]) == 1


def test_a_new_leader_answers_503_while_it_recovers(tmp_path: Path,
                                                    subscribe: Subscribe) -> None:
    with MesosCluster(tmp_path, agents=1, masters=2, recovery_period=1.0) as cluster:
        old = cluster.leader
        standby = next(m for m in cluster.masters if m is not old)
        assert old is not None
        old.stop()  # without waiting for the next leader, as kill_leader() would
        url = f"http://{standby.address}{SCHEDULER}"
        body = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info()}}

        def status() -> int:
            return httpx.post(url, json={"type": "REVIVE"}).status_code

        eventually(lambda: status() == 503, what="a 503 while recovering")
        assert httpx.post(url, json=body).text == "Master has not finished recovery"
        eventually(lambda: status() == 400, what="the end of recovery")
        assert subscribe(cluster).status == 200


def test_a_refused_subscription_is_an_error_event(cluster: MesosCluster,
                                                 subscribe: Subscribe) -> None:
    refused = subscribe(cluster, role="bad role")
    assert refused.status == 200  # the stream opens, says why, and ends
    assert refused.wait("ERROR")["error"]["message"].startswith(
        "'FrameworkInfo.role' is not a valid role")
    assert refused.ended.wait(10) and cluster.frameworks() == []
    multi = subscribe(cluster, role="a", capabilities=[{"type": "MULTI_ROLE"}])
    assert "must not be set when the framework is MULTI_ROLE" in (
        multi.wait("ERROR")["error"]["message"])


def test_update_framework_answers_200(cluster: MesosCluster, subscribe: Subscribe) -> None:
    framework = subscribe(cluster, "before")
    info = framework_info("after", id={"value": framework.framework_id})
    answer = framework.call("UPDATE_FRAMEWORK", {"framework_info": info})
    assert (answer.status_code, answer.content) == (200, b"")
    assert cluster.frameworks()[0]["name"] == "after"
    state = httpx.get(f"http://{cluster.master_address}/master/state").json()
    assert [f["name"] for f in state["frameworks"]] == ["after"]
