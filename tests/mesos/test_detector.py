"""Master detection in a real ZooKeeper: masters contend as Mesos's do, with ephemeral
sequential ``json.info_`` znodes holding their MasterInfo; each test has its own path."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from aurora_provider.mesos.detector import ZooKeeperDetector
from aurora_provider.mesos.scheduler import MesosSchedulerDriver
from tests.eventually import eventually
from tests.mesos.test_scheduler_driver import Recorder, ScriptedMaster
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"))
    server.start()
    yield server
    server.stop()


class Masters:
    """Plays the Mesos masters' side: contenders in ``path``."""

    def __init__(self, hosts: str) -> None:
        self.path = f"/{uuid.uuid4().hex}/mesos"
        self.url = f"zk://{hosts}{self.path}"
        self.zk = KazooClient(hosts=hosts)
        self.zk.start(timeout=30)

    def contend(self, port: int, info: dict[str, object] | None = None) -> str:
        if info is None:
            info = {"id": f"master-{port}", "hostname": "localhost", "port": port,
                    "address": {"hostname": "localhost", "ip": "127.0.0.1", "port": port}}
        return str(self.zk.create(f"{self.path}/json.info_", json.dumps(info).encode(),
                                  ephemeral=True, sequence=True, makepath=True))

    def close(self) -> None:
        self.zk.stop()
        self.zk.close()


@pytest.fixture
def masters(zookeeper: ZooKeeperServer) -> Iterator[Masters]:
    m = Masters(zookeeper.hosts)
    yield m
    m.close()


@pytest.fixture
def detectors() -> Iterator[Callable[..., ZooKeeperDetector]]:
    made: list[ZooKeeperDetector] = []

    def make(url: str, **options: object) -> ZooKeeperDetector:
        detector = ZooKeeperDetector(url, **options)  # type: ignore[arg-type]
        made.append(detector)
        return detector

    yield make
    for detector in made:
        detector.stop()


def test_the_lowest_sequence_leads(masters: Masters,
                                   detectors: Callable[..., ZooKeeperDetector]) -> None:
    first = masters.contend(5050)
    masters.contend(5051)
    detector = detectors(masters.url)
    assert eventually(detector.current, what="a leader") == "127.0.0.1:5050"
    masters.zk.delete(first)
    eventually(lambda: detector.current() == "127.0.0.1:5051", what="the next leader")
    masters.contend(5052)
    masters.zk.delete(f"{masters.path}/{_lowest(masters)}")
    eventually(lambda: detector.current() == "127.0.0.1:5052", what="the last leader")
    masters.zk.delete(f"{masters.path}/{_lowest(masters)}")
    eventually(lambda: detector.current() is None, what="no leader")


def _lowest(masters: Masters) -> str:
    children: list[str] = masters.zk.get_children(masters.path)
    return min(c for c in children if c.startswith("json.info_"))


def test_other_children_are_not_masters(masters: Masters,
                                        detectors: Callable[..., ZooKeeperDetector]) -> None:
    masters.zk.create(f"{masters.path}/info_", b"\x08\x01", sequence=True, makepath=True)
    masters.zk.create(f"{masters.path}/log_replicas", b"")
    masters.contend(5051)
    detector = detectors(masters.url)
    assert eventually(detector.current, what="a leader") == "127.0.0.1:5051"


def test_a_path_that_appears_later_is_followed(masters: Masters,
                                               detectors: Callable[..., ZooKeeperDetector]
                                               ) -> None:
    detector = detectors(masters.url)
    assert detector.wait_for_change(None, 0.2) is None
    masters.contend(5050)
    assert detector.wait_for_change(None, 60) == "127.0.0.1:5050"


def test_a_leader_whose_info_is_unreadable_is_unknown(
        masters: Masters, detectors: Callable[..., ZooKeeperDetector],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "aurora_provider.mesos.detector")
    masters.zk.create(f"{masters.path}/json.info_", b"not json", ephemeral=True, sequence=True,
                      makepath=True)
    masters.contend(5051)
    detector = detectors(masters.url)
    eventually(lambda: "is not a MasterInfo" in caplog.text, what="the warning")
    assert detector.current() is None


def test_the_detector_follows_after_its_session_expired(
        zookeeper: ZooKeeperServer, masters: Masters,
        detectors: Callable[..., ZooKeeperDetector]) -> None:
    client = KazooClient(hosts=zookeeper.hosts, timeout=4)
    detector = detectors(masters.url, client=client)
    masters.contend(5050)
    eventually(lambda: detector.current() == "127.0.0.1:5050", what="the leader")
    session = client.client_id
    _expire(zookeeper.hosts, session)
    eventually(lambda: client.connected and client.client_id != session, what="a new session")
    masters.zk.delete(f"{masters.path}/{_lowest(masters)}")
    masters.contend(5051)
    eventually(lambda: detector.current() == "127.0.0.1:5051", what="the new leader")
    detector.stop()
    client.stop()  # the client was ours: the detector leaves it alone
    client.close()


def _expire(hosts: str, session: tuple[int, bytes]) -> None:
    """End a session from outside, as ZooKeeper does when it expires it."""
    twin = KazooClient(hosts=hosts, client_id=session)
    twin.start(timeout=30)
    twin.stop()
    twin.close()


def test_an_unreachable_zookeeper_makes_the_leader_unknown(tmp_path: Path) -> None:
    server = ZooKeeperServer(tmp_path / "zk")
    server.start()
    masters = Masters(server.hosts)
    detector = ZooKeeperDetector(masters.url, session_timeout=2.0)
    try:
        masters.contend(5050)
        eventually(lambda: detector.current() == "127.0.0.1:5050", what="the leader")
        server.stop()
        eventually(lambda: detector.current() is None, what="the leader unknown")
        server.start()
        eventually(lambda: detector.current() == "127.0.0.1:5050", what="the leader again")
    finally:
        detector.stop()
        masters.close()
        server.stop()


def test_a_stopped_detector_knows_no_leader(masters: Masters,
                                            detectors: Callable[..., ZooKeeperDetector]) -> None:
    masters.contend(5050)
    detector = detectors(masters.url)
    eventually(detector.current, what="the leader")
    detector.stop()
    assert detector.current() is None
    assert detector.wait_for_change(None, 60) is None


def test_the_driver_follows_the_leader_zookeeper_names(masters: Masters) -> None:
    first, second = ScriptedMaster(), ScriptedMaster()
    recorder = Recorder()
    driver = MesosSchedulerDriver(recorder, {"user": "root", "name": "Aurora"}, masters.url,
                                  backoff_initial=0.05, backoff_max=0.2)
    try:
        leading = masters.contend(first.port)
        masters.contend(second.port)
        driver.start()
        eventually(lambda: recorder.named("registered"), what="registered")
        assert driver.master == first.address
        masters.zk.delete(leading)  # the first master lost its session, and with it its stream
        first.end_stream()
        eventually(lambda: recorder.named("reregistered"), what="re-registered")
        assert driver.master == second.address
        assert second.subscribes()[0].body["framework_id"] == {"value": "fw-1"}
    finally:
        driver.stop()
        assert driver.join(30)
        first.close()
        second.close()
