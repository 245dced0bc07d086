"""Serverset announcement against a real ZooKeeper (session fixture)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kazoo.client import KazooClient

from executor.core.binding import free_ports
from executor.core.spec import AnnouncerSpec
from executor.services.announcer import Announcer, ServersetAnnouncer, serverset_member
from tests.eventually import eventually
from tests.zookeeper import ZooKeeperServer

from .conftest import Env
from .helpers import proc, task, view


@pytest.fixture
def zk(zookeeper: ZooKeeperServer) -> Iterator[KazooClient]:
    client = KazooClient(hosts=zookeeper.hosts)
    client.start(timeout=10)
    yield client
    client.stop()
    client.close()


def _spec(path: str) -> AnnouncerSpec:
    return AnnouncerSpec(
        path=path, primary_port="http", ports={"http": 8080, "admin": 9090}, shard=3
    )


def _members(zk: KazooClient, path: str) -> list[dict[str, Any]]:
    if not zk.exists(path):
        return []
    return [json.loads(zk.get(f"{path}/{c}")[0]) for c in sorted(zk.get_children(path))]


@pytest.mark.unit
def test_serverset_json_has_aurora_fields() -> None:
    assert serverset_member(_spec("/x"), "host1") == {
        "serviceEndpoint": {"host": "host1", "port": 8080},
        "additionalEndpoints": {
            "admin": {"host": "host1", "port": 9090},
            "http": {"host": "host1", "port": 8080},
        },
        "status": "ALIVE",
        "shard": 3,
    }


@pytest.mark.process
def test_an_announcer_that_cannot_join_fails_the_task() -> None:
    nobody = f"127.0.0.1:{free_ports(['zk'])['zk']}"  # no ZooKeeper listens there
    said: list[str] = []
    announcer = ServersetAnnouncer(_spec("/aurora/x"), nobody, "host1", said.append, timeout=0.3)
    announcer.start(0.0)
    status = announcer.poll(0.0, [])
    assert status is not None and status.verdict == "failed"
    assert str(status.reason).startswith("announcer could not join /aurora/x: ")
    announcer.stop()
    assert announcer.poll(0.0, []) is None and said == []  # stopped: nothing more to say


@pytest.mark.integration
def test_join_and_leave(zookeeper: ZooKeeperServer, zk: KazooClient) -> None:
    path = f"/aurora/{uuid.uuid4().hex}/devel/web"
    announcer = Announcer(_spec(path), zookeeper.hosts, "host1")
    znode = announcer.join()
    assert znode.startswith(f"{path}/member_")
    assert _members(zk, path)[0]["shard"] == 3
    announcer.leave()
    assert zk.get_children(path) == []


@pytest.mark.integration
def test_member_is_recreated_after_session_expiry(
    zookeeper: ZooKeeperServer, zk: KazooClient
) -> None:
    path = f"/aurora/{uuid.uuid4().hex}/devel/web"
    announcer = Announcer(_spec(path), zookeeper.hosts, "host1")
    first = announcer.join()
    client = announcer._client  # the test plays ZooKeeper's part: expire this session
    session_id, password = client.client_id
    twin = KazooClient(hosts=zookeeper.hosts)
    twin._session_id, twin._session_passwd = session_id, password  # kazoo.testing's recipe
    twin.start(timeout=10)
    twin.stop()
    twin.close()
    eventually(
        lambda: announcer.znode not in (None, first) and zk.exists(announcer.znode),
        timeout=30,
        what="re-created member",
    )
    assert not zk.exists(first)
    assert len(_members(zk, path)) == 1
    announcer.leave()


@pytest.mark.integration
def test_runner_announces_while_active_and_withdraws(
    env: Env, zookeeper: ZooKeeperServer, zk: KazooClient
) -> None:
    path = f"/aurora/{uuid.uuid4().hex}/devel/web"
    gate = env.sandbox.parent / "go"
    spec = task(proc("svc", f"until [ -e {gate} ]; do sleep 0.02; done"), announcer=_spec(path))
    runner = env.runner(spec, clock=None, announcer_ensemble=zookeeper.hosts, hostname="h1")
    thread = env.run_in_thread(runner)
    eventually(lambda: _members(zk, path), what="announcement")
    assert _members(zk, path)[0]["serviceEndpoint"] == {"host": "h1", "port": 8080}
    gate.touch()
    thread.join(20)
    assert view(env.root).state == "SUCCESS"
    assert zk.get_children(path) == []
