"""Reading master addresses, redirects and failures; the calls' bodies; the backoff."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from aurora_provider.mesos import calls
from aurora_provider.mesos.detector import (
    StaticDetector,
    check_master,
    detector_for,
    master_address,
    parse_zk_url,
)
from aurora_provider.mesos.errors import MasterAddressError
from aurora_provider.mesos.http import Backoff, failure_reason, redirect_address

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text, address", [
    ("127.0.0.1:5050", "127.0.0.1:5050"),
    (" master.example.com:5051 ", "master.example.com:5051"),
    ("master", "master:5050"),
    ("[::1]:5050", "[::1]:5050"),
])
def test_a_master_address(text: str, address: str) -> None:
    detector = detector_for(text)
    assert isinstance(detector, StaticDetector)
    assert detector.current() == address


@pytest.mark.parametrize("text, problem", [
    ("", "bad Mesos master '': expected host:port, zk://"),
    ("127.0.0.1:", "bad Mesos master '127.0.0.1:': expected host:port"),
    ("http://127.0.0.1:5050", "bad Mesos master 'http://127.0.0.1:5050': expected host:port"),
    ("127.0.0.1:99999", "bad Mesos master '127.0.0.1:99999': the port must be 1-65535"),
    ("a b:1", "bad Mesos master 'a b:1'"),
    ("zk://", "bad ZooKeeper URL 'zk://': no path"),
    ("zk://h1:2181", "no path (expected zk://[user:password@]host:port[,host:port...]/path)"),
    ("zk://h1:2181/", "no path"),
    ("zk://h1:x/mesos", "bad ZooKeeper host 'h1:x': expected host:port"),
    ("zk://h1:2181,/mesos", "bad ZooKeeper host ''"),
    ("zk://admin@h1/mesos", "credentials must be user:password"),
])
def test_a_bad_master_is_one_clear_error(text: str, problem: str) -> None:
    with pytest.raises(MasterAddressError) as raised:
        check_master(text)
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_zookeeper_urls() -> None:
    assert parse_zk_url("zk://h1:2181,h2/mesos/") == ("h1:2181,h2:2181", "/mesos", None)
    assert parse_zk_url("zk://u:p@h1:2182/a/b") == ("h1:2182", "/a/b", "u:p")


def test_credentials_stay_out_of_messages() -> None:
    with pytest.raises(MasterAddressError) as raised:
        check_master("zk://user:secret@h1:2181/")
    assert "secret" not in str(raised.value)


def test_a_master_read_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "master").write_text("zk://h1:2181/mesos\n")
    assert check_master(f"file://{tmp_path}/master") == "zk://h1:2181/mesos"
    (tmp_path / "loop").write_text(f"file://{tmp_path}/master\n")
    with pytest.raises(MasterAddressError, match="names another file"):
        check_master(f"file://{tmp_path}/loop")
    with pytest.raises(MasterAddressError, match=r"cannot read the Mesos master from .*/nope: "
                                                 "No such file or directory"):
        check_master(f"file://{tmp_path}/nope")


def test_a_static_detector_never_changes() -> None:
    detector = StaticDetector("127.0.0.1:5050")
    assert detector.wait_for_change(None, 10) == "127.0.0.1:5050"
    detector.stop()  # a stopped detector waits no more
    assert detector.wait_for_change("127.0.0.1:5050", 10) == "127.0.0.1:5050"


@pytest.mark.parametrize("info, address", [
    ({"address": {"ip": "10.0.0.1", "hostname": "m1", "port": 5051}, "hostname": "x",
      "port": 1}, "10.0.0.1:5051"),
    ({"address": {"hostname": "m1", "port": 5051}}, "m1:5051"),
    ({"hostname": "m1", "port": 5052, "ip": 16777343}, "m1:5052"),
    ({"address": {"ip": "fe80::1", "port": 5050}}, "[fe80::1]:5050"),
    ({"hostname": "m1"}, "m1:5050"),
])
def test_the_address_of_a_master_info(info: dict[str, object], address: str) -> None:
    assert master_address(info) == address


def test_a_master_info_without_an_address_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no address\.ip"):
        master_address({"id": "m1", "port": 5050})


@pytest.mark.parametrize("location, address", [
    ("//10.0.0.2:5050/api/v1/scheduler", "10.0.0.2:5050"),
    ("http://10.0.0.2:5050/api/v1/scheduler", "10.0.0.2:5050"),
    ("https://m2.example.com:5443/master/api/v1/scheduler", "m2.example.com:5443"),
    ("10.0.0.2:5050", "10.0.0.2:5050"),
    ("//10.0.0.2/api/v1/scheduler", None),
    ("/api/v1/scheduler", None),
    ("", None),
    (None, None),
])
def test_the_leader_a_redirect_names(location: str | None, address: str | None) -> None:
    assert redirect_address(location) == address


def test_transport_failures_in_a_few_words() -> None:
    assert failure_reason(httpx.ConnectError("[Errno 111] Connection refused")) == \
        "connection refused"
    assert failure_reason(httpx.ReadTimeout("timed out")) == "timed out"
    assert failure_reason(httpx.RemoteProtocolError("")) == "RemoteProtocolError"


def test_the_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    top = Backoff(1.0, 4.0, rand=lambda: 1.0)
    assert [top.next() for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    top.reset()
    assert top.next() == 1.0
    assert Backoff(1.0, 4.0, rand=lambda: 0.0).next() == 0.5
    with pytest.raises(ValueError, match="0 < initial <= maximum"):
        Backoff(2.0, 1.0)


def test_acknowledging_needs_a_uuid_and_an_agent() -> None:
    task = {"task_id": {"value": "t1"}}
    with pytest.raises(ValueError, match="task t1 carries no uuid"):
        calls.acknowledge({**task, "agent_id": {"value": "a1"}})
    with pytest.raises(ValueError, match="task t1 names no agent_id"):
        calls.acknowledge({**task, "uuid": "dXU="})


def test_a_failover_subscribe_names_its_id_twice_and_keeps_the_info_given() -> None:
    info = {"user": "root", "name": "Aurora"}
    call = calls.subscribe(info, "fw-1")
    assert call == {"type": "SUBSCRIBE", "framework_id": {"value": "fw-1"},
                    "subscribe": {"framework_info": {**info, "id": {"value": "fw-1"}}}}
    assert info == {"user": "root", "name": "Aurora"}
