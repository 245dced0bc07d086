"""Finding the leading scheduler from ZooKeeper: ``api/discovery.py`` against a real
ZooKeeper holding member znodes the tests write, then the CLI (clusters.json) and the hook
(connection extra) reaching a real scheduler daemon through it."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from aurora_provider.api.discovery import ensemble, leader_url
from aurora_provider.api.errors import SchedulerUnavailable
from aurora_provider.api.serverset import Endpoint, encode_member
from aurora_provider.cli.aurora import main
from aurora_provider.cli.clusters import ClusterError, get_cluster, load_clusters
from tests.daemon import Daemon, free_port
from tests.zookeeper import ZooKeeperServer

from .follower import Follower, service_wire

# The ZooKeeper and daemon tests are integration tests; clusters.json's reading is a unit's.
integration = pytest.mark.integration


@pytest.fixture
def zk(zookeeper_server: ZooKeeperServer) -> Iterator[KazooClient]:
    client = KazooClient(hosts=zookeeper_server.hosts)
    client.start(timeout=10)
    yield client
    client.stop()
    client.close()


@pytest.fixture
def path() -> str:
    """The scheduler's path of this test, in a chroot of its own (not created)."""
    return f"/t-{uuid.uuid4().hex[:8]}/aurora/scheduler"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("discovered")
    d = Daemon(root / "work", root / "home", [])
    d.start()
    yield d
    d.stop(signal.SIGKILL)
    d.kill_runners()


def advertise(zk: KazooClient, path: str, host: str, port: int) -> str:
    """A member znode as the leader writes it; its name."""
    made: str = zk.create(f"{path}/member_", encode_member(Endpoint(host, port)),
                          ephemeral=True, sequence=True, makepath=True)
    return made


def unavailable(zk_hosts: str, path: str, **options: float) -> str:
    with pytest.raises(SchedulerUnavailable) as info:
        leader_url(zk_hosts, path, **options)
    said = str(info.value)
    assert "\n" not in said
    return said


@pytest.mark.unit
def test_ensemble_gives_each_host_a_port() -> None:
    assert ensemble("zk1") == "zk1:2181"
    assert ensemble("zk1, zk2:2190", 2182) == "zk1:2182,zk2:2190"
    assert ensemble(["zk1", "[::1]", "[::1]:2200"], 7) == "zk1:7,[::1]:7,[::1]:2200"


@integration
def test_the_lowest_member_is_the_leader(zookeeper_server: ZooKeeperServer, zk: KazooClient,
                                         path: str) -> None:
    first = advertise(zk, path, "10.0.0.1", 8081)
    advertise(zk, path, "10.0.0.2", 8082)
    zk.create(f"{path}/lock", b"not a member")  # other children are no candidates
    assert leader_url(zookeeper_server.hosts, path) == "http://10.0.0.1:8081"
    zk.delete(first)  # the old leader's session ended
    assert leader_url(zookeeper_server.hosts, path + "/") == "http://10.0.0.2:8082"


@integration
def test_no_member_means_no_leader(zookeeper_server: ZooKeeperServer, zk: KazooClient,
                                   path: str) -> None:
    zk.ensure_path(path)
    said = unavailable(zookeeper_server.hosts, path)
    assert said == f"no leader elected at zk://{zookeeper_server.hosts}{path} (no member_ znode)"


@integration
def test_a_missing_path_is_named(zookeeper_server: ZooKeeperServer, path: str) -> None:
    said = unavailable(zookeeper_server.hosts, path)
    assert said.startswith(f"no ZooKeeper path zk://{zookeeper_server.hosts}{path}: ")


@integration
def test_a_member_that_is_no_serverset_is_named(zookeeper_server: ZooKeeperServer,
                                                zk: KazooClient, path: str) -> None:
    member = zk.create(f"{path}/member_", b"leader!", sequence=True, makepath=True)
    said = unavailable(zookeeper_server.hosts, path)
    assert said.startswith(f"zk://{zookeeper_server.hosts}{member} is not a serverset member")


@integration
def test_an_unreachable_zookeeper_is_one_quiet_line(caplog: pytest.LogCaptureFixture,
                                                    path: str) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    with caplog.at_level(logging.DEBUG):
        said = unavailable(nobody, path, timeout=1)
    assert said == f"cannot reach ZooKeeper at {nobody} within 1 s"
    assert not [r for r in caplog.records if "kazoo" in r.name]


# -- the CLI: clusters.json naming zk + scheduler_zk_path -----------------------------------


def clusters_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *entries: object) -> Path:
    clusters = tmp_path / "clusters.json"
    clusters.write_text(json.dumps(list(entries)))
    monkeypatch.setenv("AURORA_CLUSTERS", str(clusters))
    monkeypatch.setenv("AURORA_HOME", str(tmp_path / "client-home"))
    return clusters


@integration
def test_aurora_job_status_finds_the_leader_in_zookeeper(
        zookeeper_server: ZooKeeperServer, zk: KazooClient, path: str, daemon: Daemon,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    host, port = zookeeper_server.hosts.split(":")
    clusters_file(tmp_path, monkeypatch, {
        "name": "devcluster", "zk": [host], "zk_port": int(port), "scheduler_zk_path": path,
        "auth_token_file": str(daemon.home / "token")})
    zk.ensure_path(path)
    assert main(["job", "status", "devcluster/www/test/nothing_here"]) == 1
    assert "no leader elected at zk://" in capsys.readouterr().err
    advertise(zk, path, "127.0.0.1", daemon.port)
    with daemon.client() as client:
        client.create_job(service_wire(tmp_path, "zk_status"))
    try:
        assert main(["job", "status", "devcluster/www/test/zk_status", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["key"] == "devcluster/www/test/zk_status" and len(status["active"]) == 1
    finally:
        with daemon.client() as client:
            client.killall("devcluster/www/test/zk_status")


@pytest.mark.unit
def test_clusters_are_read_without_asking_zookeeper(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    nobody = free_port()  # a cluster whose ZooKeeper is down is still listed at once
    clusters_file(tmp_path, monkeypatch, {"name": "far", "zk": "127.0.0.1",
                                          "zk_port": nobody, "scheduler_zk_path": "/s"})
    far = load_clusters()["far"]
    assert far.leader is not None and far.scheduler_uri is None
    assert far.leader.hosts == f"127.0.0.1:{nobody}"
    assert far.entry() == {"name": "far", "zk": "127.0.0.1", "zk_port": nobody,
                           "scheduler_zk_path": "/s"}


@pytest.mark.unit
@pytest.mark.parametrize(("entry", "said"), [
    ({"zk": "zk1"}, "\"zk\" without \"scheduler_zk_path\": name the path"),
    ({"scheduler_zk_path": "/s"}, "\"scheduler_zk_path\" without \"zk\""),
    ({"zk": "zk1", "scheduler_zk_path": "s"}, "\"scheduler_zk_path\" must be a ZooKeeper path"),
    ({"zk": 7, "scheduler_zk_path": "/s"}, "\"zk\" must be a ZooKeeper host"),
    ({"zk": "zk1", "zk_port": "x", "scheduler_zk_path": "/s"}, "\"zk_port\" must be a port"),
    ({}, "needs \"scheduler_uri\" as an http(s) URL, or \"zk\" and \"scheduler_zk_path\""),
])
def test_a_bad_combination_is_one_line_naming_file_and_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: dict[str, object],
        said: str) -> None:
    clusters = clusters_file(tmp_path, monkeypatch, {"name": "west", **entry})
    with pytest.raises(ClusterError) as info:
        get_cluster("west")
    assert str(info.value).startswith(f"{clusters}: cluster 'west'")
    assert said in str(info.value) and "\n" not in str(info.value)


@pytest.mark.unit
def test_with_scheduler_uri_too_the_uri_is_used(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    clusters_file(tmp_path, monkeypatch, {
        "name": "west", "scheduler_uri": "http://10.0.0.1:8081/", "zk": "127.0.0.1",
        "zk_port": free_port(), "scheduler_zk_path": "/s"})
    assert get_cluster("west").scheduler_url() == "http://10.0.0.1:8081"  # no ZooKeeper


# -- the hook: a connection whose extra names zk + scheduler_zk_path -------------------------


def connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}",
                       json.dumps({"conn_type": "aurora", **fields}))


@integration
def test_the_hook_finds_the_leader_from_the_connection_extra(
        zookeeper_server: ZooKeeperServer, zk: KazooClient, path: str, daemon: Daemon,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from aurora_provider.hooks.aurora import AuroraHook

    advertise(zk, path, "127.0.0.1", daemon.port)
    connection(monkeypatch, "aurora_zk", password=daemon.token(), extra={
        "zk": zookeeper_server.hosts, "scheduler_zk_path": path, "cluster": "devcluster"})
    hook = AuroraHook("aurora_zk")
    with hook.get_conn() as client:
        assert client.base_url == daemon.url and client.whoami().admin
    assert asyncio.run(hook.asettings()).url == daemon.url


@integration
def test_the_hooks_host_is_the_fallback_when_zookeeper_names_no_leader(
        zookeeper_server: ZooKeeperServer, zk: KazooClient, path: str, daemon: Daemon,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from aurora_provider.hooks.aurora import AuroraHook, ConnectionSettingsError

    zk.ensure_path(path)
    follower = Follower(daemon.url)
    try:
        connection(monkeypatch, "aurora_zk_fallback", host=follower.url,
                   password=daemon.token(),
                   extra={"zk": zookeeper_server.hosts, "scheduler_zk_path": path})
        with AuroraHook("aurora_zk_fallback").get_conn() as client:
            assert client.base_url == follower.url and client.whoami().admin
            assert client.base_url == daemon.url  # the replica there redirected
    finally:
        follower.stop()
    connection(monkeypatch, "aurora_zk_only", password="t",
               extra={"zk": zookeeper_server.hosts, "scheduler_zk_path": path})
    with pytest.raises(SchedulerUnavailable, match="no leader elected"):
        AuroraHook("aurora_zk_only").get_conn()
    connection(monkeypatch, "aurora_zk_half", extra={"zk": zookeeper_server.hosts})
    with pytest.raises(ConnectionSettingsError,
                       match="connection 'aurora_zk_half', in its extra: \"zk\" without "
                             "\"scheduler_zk_path\""):
        AuroraHook("aurora_zk_half").get_conn()
