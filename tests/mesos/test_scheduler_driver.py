"""The scheduler driver against a scripted v1 master on 127.0.0.1 (real HTTP, real RecordIO).

``ScriptedMaster`` answers SUBSCRIBE as the test scripts it (a stream, 307, 503, 4xx, an
ERROR), streams the events the test sends, heartbeats when asked, checks ``Mesos-Stream-Id``
on calls as Mesos does (400 when stale) and records every request it gets.
"""

from __future__ import annotations

import base64
import json
import queue
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aurora_provider.mesos import calls
from aurora_provider.mesos.errors import CallRejected, MasterUnreachable, NotSubscribed
from aurora_provider.mesos.recordio import encode
from aurora_provider.mesos.scheduler import MesosSchedulerDriver
from tests.eventually import eventually

pytestmark = pytest.mark.process

INFO = {"user": "root", "name": "Aurora", "checkpoint": True}
PATH = "/api/v1/scheduler"


# -- the scripted master ----------------------------------------------------------------------

@dataclass
class Request:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]
    peer: tuple[str, int] | None = None  # the connection it came on

    @property
    def type(self) -> str:
        return str(self.body.get("type"))


@dataclass
class Answer:
    """How the master answers one SUBSCRIBE: a status, or a stream (200) of ``events``
    (None: SUBSCRIBED) that stays open unless ``then_close``."""
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] | None = None
    then_close: bool = False


class Stream:
    def __init__(self, stream_id: str) -> None:
        self.id = stream_id
        self.queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.closed = threading.Event()


class ScriptedMaster:
    def __init__(self, *, heartbeat: float = 30.0, heartbeats: bool = True,
                 framework_id: str = "fw-1") -> None:
        self.heartbeat = heartbeat  # the interval SUBSCRIBED announces
        self.heartbeats = heartbeats  # whether HEARTBEATs are sent at that interval
        self.framework_id = framework_id
        self.answers: deque[Answer] = deque()  # scripted SUBSCRIBE answers, then streams
        self.call_status = 202
        self.refuse: dict[str, int] = {}  # call type -> the status it is answered with
        self.close_after: int | None = None  # close the connection after this many calls
        self.requests: list[Request] = []
        self.streams: list[Stream] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.master = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def subscribes(self) -> list[Request]:
        return [r for r in self.requests if r.type == "SUBSCRIBE"]

    def calls(self, kind: str) -> list[Request]:
        return [r for r in self.requests if r.type == kind]

    @property
    def stream(self) -> Stream:
        return self.streams[-1]

    def send(self, event: dict[str, Any]) -> None:
        self.stream.queue.put(encode(event))

    def end_stream(self) -> None:
        self.stream.queue.put(None)

    def subscribed_event(self, call: dict[str, Any]) -> dict[str, Any]:
        framework_id = (call.get("framework_id") or {}).get("value") or self.framework_id
        return {"type": "SUBSCRIBED", "subscribed": {
            "framework_id": {"value": framework_id},
            "heartbeat_interval_seconds": self.heartbeat,
            "master_info": {"id": "master-1", "hostname": "localhost", "port": self.port,
                            "address": {"ip": "127.0.0.1", "port": self.port}}}}

    def new_stream(self) -> Stream:
        with self._lock:
            stream = Stream(f"stream-{len(self.streams) + 1}")
            self.streams.append(stream)
            return stream

    def close(self) -> None:
        for stream in self.streams:
            stream.queue.put(None)
        self._server.shutdown()
        self._server.server_close()  # joins the handlers' threads
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for every handler
    master: ScriptedMaster


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle kept-alive connection ends its handler
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        master = self.server.master
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.loads(data)
        request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                          self.client_address)
        master.requests.append(request)
        if request.type == "SUBSCRIBE":
            answer = master.answers.popleft() if master.answers else Answer()
            if answer.status != 200:
                self._answer(answer.status, answer.body, answer.headers)
            else:
                self._stream(master, answer, body)
            return
        current = master.streams[-1].id if master.streams else None
        if request.headers.get("mesos-stream-id") != current:
            self._answer(400, "The stream ID included in this request didn't match")
            return
        answered = [r for r in master.requests if r.type != "SUBSCRIBE"]
        # What the client sent after a "Connection: close" answer is never read.
        closing = master.close_after is not None and len(answered) >= master.close_after
        self._answer(master.refuse.get(request.type, master.call_status),
                     headers={"Connection": "close"} if closing else None)
        if request.type == "TEARDOWN":
            master.end_stream()

    def _answer(self, status: int, text: str = "", headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, master: ScriptedMaster, answer: Answer, call: dict[str, Any]) -> None:
        self.close_connection = True
        stream = master.new_stream()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Mesos-Stream-Id", stream.id)
            self.end_headers()
            events = answer.events if answer.events is not None else [
                master.subscribed_event(call)]
            for event in events:
                self._chunk(encode(event))
            if answer.then_close:
                self.wfile.write(b"0\r\n\r\n")
                return
            beat = time.monotonic() + master.heartbeat
            while True:
                try:
                    item = stream.queue.get(timeout=0.05)
                except queue.Empty:
                    if self._client_gone():
                        return
                    if master.heartbeats and time.monotonic() >= beat:
                        beat = time.monotonic() + master.heartbeat
                        self._chunk(encode({"type": "HEARTBEAT"}))
                    continue
                if item is None:
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self._chunk(item)
        except OSError:
            return
        finally:
            stream.closed.set()

    def _chunk(self, data: bytes) -> None:
        # Split each record in two chunks: the driver must not rely on their boundaries.
        half = len(data) // 2
        for part in (data[:half], data[half:]):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))

    def _client_gone(self) -> bool:
        if not select.select([self.connection], [], [], 0)[0]:
            return False
        try:
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except OSError:
            return True


# -- the framework's side ---------------------------------------------------------------------

class Recorder:
    """The callbacks, recorded in order (name, args)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in list(self.events) if called == name]

    def names(self) -> list[str]:
        return [name for name, _ in list(self.events)]

    def registered(self, driver: Any, framework_id: str, master: dict[str, Any]) -> None:
        self.events.append(("registered", (framework_id, master)))

    def reregistered(self, driver: Any, master: dict[str, Any]) -> None:
        self.events.append(("reregistered", (master,)))

    def disconnected(self, driver: Any) -> None:
        self.events.append(("disconnected", ()))

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        self.events.append(("resourceOffers", (offers,)))

    def offerRescinded(self, driver: Any, offer_id: str) -> None:
        self.events.append(("offerRescinded", (offer_id,)))

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        self.events.append(("statusUpdate", (status,)))

    def frameworkMessage(self, driver: Any, executor_id: str, agent_id: str,
                         data: bytes) -> None:
        self.events.append(("frameworkMessage", (executor_id, agent_id, data)))

    def slaveLost(self, driver: Any, agent_id: str) -> None:
        self.events.append(("slaveLost", (agent_id,)))

    def executorLost(self, driver: Any, executor_id: str, agent_id: str,
                     status: int | None) -> None:
        self.events.append(("executorLost", (executor_id, agent_id, status)))

    def error(self, driver: Any, message: str) -> None:
        self.events.append(("error", (message,)))


class SwitchDetector:
    """A detector the test points at one master or another."""

    def __init__(self, leader: str | None) -> None:
        self._cond = threading.Condition()
        self.leader = leader

    def point_at(self, leader: str | None) -> None:
        with self._cond:
            self.leader = leader
            self._cond.notify_all()

    def current(self) -> str | None:
        return self.leader

    def wait_for_change(self, previous: str | None, timeout: float) -> str | None:
        with self._cond:
            self._cond.wait_for(lambda: self.leader != previous, timeout)
            return self.leader

    def stop(self) -> None:
        pass


class World:
    def __init__(self) -> None:
        self.masters: list[ScriptedMaster] = []
        self.drivers: list[MesosSchedulerDriver] = []

    def master(self, **options: Any) -> ScriptedMaster:
        master = ScriptedMaster(**options)
        self.masters.append(master)
        return master

    def driver(self, master: Any, *, start: bool = True,
               **options: Any) -> tuple[MesosSchedulerDriver, Recorder]:
        recorder = Recorder()
        options.setdefault("backoff_initial", 0.05)
        options.setdefault("backoff_max", 0.2)
        options.setdefault("timeout", 10.0)
        info = options.pop("framework_info", INFO)
        driver = MesosSchedulerDriver(recorder, info, master, **options)
        self.drivers.append(driver)
        if start:
            driver.start()
        return driver, recorder

    def close(self) -> None:
        for driver in self.drivers:
            driver.stop()
            assert driver.join(30), "the driver's thread did not end"
        for master in self.masters:
            master.close()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    yield w
    w.close()


def subscribed(world: World, **options: Any) -> tuple[ScriptedMaster, MesosSchedulerDriver,
                                                        Recorder]:
    master = world.master()
    driver, recorder = world.driver(master.address, **options)
    eventually(lambda: recorder.named("registered"), what="registered")
    return master, driver, recorder


def status(task: str, state: str = "TASK_RUNNING", uuid: bytes | None = b"u-1") -> dict[str, Any]:
    s: dict[str, Any] = {"task_id": {"value": task}, "state": state,
                         "agent_id": {"value": "agent-1"}, "source": "SOURCE_EXECUTOR"}
    if uuid is not None:
        s["uuid"] = base64.b64encode(uuid).decode()
    return s


# -- subscribing ------------------------------------------------------------------------------

def test_subscribe_then_registered(world: World) -> None:
    master, driver, recorder = subscribed(world)
    [(framework_id, master_info)] = recorder.named("registered")
    assert framework_id == "fw-1"
    assert master_info["address"] == {"ip": "127.0.0.1", "port": master.port}
    assert (driver.connected, driver.framework_id, driver.master, driver.last_error) == (
        True, "fw-1", master.address, None)
    [request] = master.subscribes()
    assert request.path == PATH
    assert request.body == {"type": "SUBSCRIBE", "subscribe": {"framework_info": INFO}}
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert "mesos-stream-id" not in request.headers
    assert "authorization" not in request.headers


def test_a_known_framework_id_subscribes_as_a_failover(world: World) -> None:
    master = world.master()
    _, recorder = world.driver(master.address, framework_id="fw-old")
    eventually(lambda: recorder.named("registered"), what="registered")
    assert recorder.named("registered")[0][0] == "fw-old"
    [request] = master.subscribes()
    assert request.body["framework_id"] == {"value": "fw-old"}
    assert request.body["subscribe"]["framework_info"]["id"] == {"value": "fw-old"}


def test_offers_reach_the_framework_and_inverse_offers_are_ignored(world: World) -> None:
    master, _, recorder = subscribed(world)
    offers = [{"id": {"value": f"o{i}"}, "agent_id": {"value": "agent-1"},
               "hostname": "h1", "resources": []} for i in (1, 2)]
    inverse = [{"id": {"value": "i1"}, "unavailability": {"start": {"nanoseconds": 0}}}]
    master.send({"type": "OFFERS", "offers": {"offers": offers, "inverse_offers": inverse}})
    master.send({"type": "OFFERS", "offers": {"inverse_offers": inverse}})
    master.send({"type": "RESCIND", "rescind": {"offer_id": {"value": "o2"}}})
    eventually(lambda: recorder.named("offerRescinded"), what="the rescind")
    assert recorder.named("resourceOffers") == [(offers,)]
    assert recorder.named("offerRescinded") == [("o2",)]


def test_messages_and_failures_reach_their_callbacks(world: World) -> None:
    master, _, recorder = subscribed(world)
    data = b"\x00\xffhello"
    master.send({"type": "MESSAGE", "message": {
        "agent_id": {"value": "agent-1"}, "executor_id": {"value": "exec-1"},
        "data": base64.b64encode(data).decode()}})
    master.send({"type": "FAILURE", "failure": {"agent_id": {"value": "agent-2"}}})
    master.send({"type": "FAILURE", "failure": {
        "agent_id": {"value": "agent-1"}, "executor_id": {"value": "exec-1"}, "status": 9}})
    master.send({"type": "UPDATE_OPERATION_STATUS", "update_operation_status": {}})
    master.send({"type": "RESCIND", "rescind": {"offer_id": {"value": "last"}}})
    eventually(lambda: recorder.named("offerRescinded"), what="the last event")
    assert recorder.named("frameworkMessage") == [("exec-1", "agent-1", data)]
    assert recorder.named("slaveLost") == [("agent-2",)]
    assert recorder.named("executorLost") == [("exec-1", "agent-1", 9)]


# -- calls ------------------------------------------------------------------------------------

def test_calls_are_well_formed(world: World) -> None:
    master, driver, _ = subscribed(world)
    task = {"name": "t", "task_id": {"value": "t1"}, "agent_id": {"value": "agent-1"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}}]}
    reserve = {"type": "RESERVE", "reserve": {"resources": []}}
    driver.decline(["o1", "o2"], {"refuse_seconds": 5.0})
    driver.decline(["o3"])
    driver.launch(["o4"], [task], {"refuse_seconds": 1.0})
    driver.accept(["o5"], [reserve])
    driver.revive()
    driver.revive(["aurora"])
    driver.suppress()
    driver.suppress(["aurora"])
    driver.kill("t1", "agent-1")
    driver.kill("t2")
    driver.reconcile([{"task_id": {"value": "t1"}, "agent_id": {"value": "agent-1"}}])
    driver.reconcile([])
    driver.message("agent-1", "exec-1", b"\x00hi")
    offer_ids = [{"value": "o1"}, {"value": "o2"}]
    expected: list[dict[str, Any]] = [
        {"type": "DECLINE", "decline": {"offer_ids": offer_ids,
                                        "filters": {"refuse_seconds": 5.0}}},
        {"type": "DECLINE", "decline": {"offer_ids": [{"value": "o3"}]}},
        {"type": "ACCEPT", "accept": {
            "offer_ids": [{"value": "o4"}],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
            "filters": {"refuse_seconds": 1.0}}},
        {"type": "ACCEPT", "accept": {"offer_ids": [{"value": "o5"}], "operations": [reserve]}},
        {"type": "REVIVE"},
        {"type": "REVIVE", "revive": {"roles": ["aurora"]}},
        {"type": "SUPPRESS"},
        {"type": "SUPPRESS", "suppress": {"roles": ["aurora"]}},
        {"type": "KILL", "kill": {"task_id": {"value": "t1"}, "agent_id": {"value": "agent-1"}}},
        {"type": "KILL", "kill": {"task_id": {"value": "t2"}}},
        {"type": "RECONCILE", "reconcile": {"tasks": [
            {"task_id": {"value": "t1"}, "agent_id": {"value": "agent-1"}}]}},
        {"type": "RECONCILE", "reconcile": {"tasks": []}},
        {"type": "MESSAGE", "message": {"agent_id": {"value": "agent-1"},
                                        "executor_id": {"value": "exec-1"},
                                        "data": base64.b64encode(b"\x00hi").decode()}},
    ]
    sent = [r for r in master.requests if r.type != "SUBSCRIBE"]
    assert [r.body for r in sent] == [{**e, "framework_id": {"value": "fw-1"}} for e in expected]
    for request in sent:
        assert request.path == PATH
        assert request.headers["mesos-stream-id"] == master.stream.id
        assert request.headers["content-type"] == "application/json"


def test_a_call_without_a_subscription_raises_and_sends_nothing(world: World) -> None:
    master = world.master()
    driver, _ = world.driver(master.address, start=False)
    with pytest.raises(NotSubscribed, match=r"cannot send DECLINE: .*not started"):
        driver.decline(["o1"])
    assert master.requests == []


def test_a_call_the_master_refuses_raises_with_its_status(world: World) -> None:
    master, driver, _ = subscribed(world)
    master.call_status = 403
    with pytest.raises(CallRejected, match=f"Mesos master {master.address} refused KILL: 403"
                       ) as raised:
        driver.kill("t1")
    assert raised.value.status == 403


def test_many_calls_are_pipelined_on_one_connection_each_with_its_answer(
        world: World) -> None:
    master, driver, _ = subscribed(world)
    master.refuse["KILL"] = 400
    batch = [calls.revive(), calls.kill("t1", "agent-1"), calls.acknowledge(status("t2")),
             *[calls.suppress()] * 200]
    errors = driver.call_many(batch)
    assert errors[0] is None and errors[2:] == [None] * 201
    assert isinstance(errors[1], CallRejected) and errors[1].status == 400
    sent = [r for r in master.requests if r.type != "SUBSCRIBE"]
    assert [r.type for r in sent[:4]] == ["REVIVE", "KILL", "ACKNOWLEDGE", "SUPPRESS"]
    assert len(sent) == 203 and len({r.peer for r in sent}) == 1
    assert all(r.headers["mesos-stream-id"] == master.stream.id for r in sent)


def test_calls_left_unanswered_by_a_closed_connection_fail_and_are_not_sent_again(
        world: World) -> None:
    master, driver, _ = subscribed(world)
    master.close_after = 2
    errors = driver.call_many([calls.revive(), calls.suppress(), calls.revive(["a"]),
                               calls.suppress(["a"])])
    assert errors[:2] == [None, None]
    assert all(isinstance(e, MasterUnreachable) for e in errors[2:])
    assert f"cannot send REVIVE to Mesos master {master.address}" in str(errors[2])
    assert [r.type for r in master.requests if r.type != "SUBSCRIBE"] == ["REVIVE",
                                                                        "SUPPRESS"]
    master.close_after = None
    assert driver.call_many([calls.revive()]) == [None]  # on a new connection


def test_calls_of_a_driver_without_subscription_fail_together(world: World) -> None:
    master = world.master()
    driver, _ = world.driver(master.address, start=False)
    errors = driver.call_many([calls.revive(), calls.kill("t1")])
    assert [type(e) for e in errors] == [NotSubscribed, NotSubscribed]
    assert "cannot send KILL" in str(errors[1]) and master.requests == []


def test_principal_and_secret_authenticate_every_request(world: World) -> None:
    master, driver, _ = subscribed(world, principal="aurora", secret="s3cret")
    driver.revive()
    expected = "Basic " + base64.b64encode(b"aurora:s3cret").decode()
    assert [r.headers.get("authorization") for r in master.requests] == [expected] * 2
    framework_info = master.subscribes()[0].body["subscribe"]["framework_info"]
    assert framework_info["principal"] == "aurora"


# -- status updates ---------------------------------------------------------------------------

def test_updates_with_a_uuid_are_acknowledged_and_others_not(world: World) -> None:
    master, _, recorder = subscribed(world)
    reconciled = status("t1", uuid=None)  # a reconciliation answer carries no uuid
    running = status("t2")
    master.send({"type": "UPDATE", "update": {"status": reconciled}})
    master.send({"type": "UPDATE", "update": {"status": running}})
    eventually(lambda: master.calls("ACKNOWLEDGE"), what="an ACKNOWLEDGE")
    assert recorder.named("statusUpdate") == [(reconciled,), (running,)]
    [ack] = master.calls("ACKNOWLEDGE")
    assert ack.body == {"type": "ACKNOWLEDGE", "framework_id": {"value": "fw-1"},
                        "acknowledge": {"agent_id": {"value": "agent-1"},
                                        "task_id": {"value": "t2"},
                                        "uuid": running["uuid"]}}
    assert ack.headers["mesos-stream-id"] == master.stream.id


def test_explicit_acknowledgements_are_the_framework_s(world: World) -> None:
    master, driver, recorder = subscribed(world, implicit_acknowledgements=False)
    running = status("t1")
    master.send({"type": "UPDATE", "update": {"status": running}})
    eventually(lambda: recorder.named("statusUpdate"), what="the update")
    assert master.calls("ACKNOWLEDGE") == []
    driver.acknowledge(recorder.named("statusUpdate")[0][0])
    assert master.calls("ACKNOWLEDGE")[0].body["acknowledge"]["uuid"] == running["uuid"]
    with pytest.raises(ValueError, match="task t1 carries no uuid"):
        driver.acknowledge(status("t1", uuid=None))


def test_a_failing_callback_leaves_its_update_unacknowledged(world: World) -> None:
    master, driver, recorder = subscribed(world)

    def broken(driver: Any, status: dict[str, Any]) -> None:
        raise RuntimeError("bug in the framework")

    recorder.statusUpdate = broken  # type: ignore[method-assign]
    master.send({"type": "UPDATE", "update": {"status": status("t1")}})
    master.send({"type": "RESCIND", "rescind": {"offer_id": {"value": "o1"}}})
    eventually(lambda: recorder.named("offerRescinded"), what="the next event")
    assert master.calls("ACKNOWLEDGE") == []
    assert driver.connected


# -- losing and finding the master ------------------------------------------------------------

def test_a_silent_master_is_left_and_subscribed_again(world: World) -> None:
    master = world.master(heartbeat=60.0)
    silent = master.subscribed_event({})
    silent["subscribed"]["heartbeat_interval_seconds"] = 0.2  # and none comes
    master.answers.append(Answer(events=[silent]))  # the next streams are healthy ones
    driver, recorder = world.driver(master.address, missed_heartbeats=2)
    eventually(lambda: recorder.named("reregistered"), what="re-registered")
    assert recorder.names()[:3] == ["registered", "disconnected", "reregistered"]
    first, again = master.subscribes()[:2]
    assert "framework_id" not in first.body
    assert again.body["framework_id"] == {"value": "fw-1"}
    assert again.body["subscribe"]["framework_info"]["id"] == {"value": "fw-1"}
    eventually(lambda: master.streams[0].closed.is_set(), what="the silent stream closed")
    driver.revive()  # on the new stream
    assert master.calls("REVIVE")[0].headers["mesos-stream-id"] == master.stream.id
    assert master.stream is not master.streams[0]


def test_a_closed_stream_is_subscribed_again_under_a_new_stream_id(world: World) -> None:
    master, driver, recorder = subscribed(world)
    master.end_stream()
    eventually(lambda: recorder.named("reregistered"), what="re-registered")
    assert recorder.names() == ["registered", "disconnected", "reregistered"]
    assert driver.connected
    driver.revive()
    assert [s.id for s in master.streams] == ["stream-1", "stream-2"]
    assert master.calls("REVIVE")[0].headers["mesos-stream-id"] == "stream-2"


def test_each_attempt_asks_the_detector_for_the_leader(world: World) -> None:
    first, second = world.master(), world.master(framework_id="ignored")
    detector = SwitchDetector(first.address)
    driver, recorder = world.driver(detector)
    eventually(lambda: recorder.named("registered"), what="registered")
    detector.point_at(second.address)
    first.end_stream()
    eventually(lambda: recorder.named("reregistered"), what="re-registered")
    assert driver.master == second.address
    assert second.subscribes()[0].body["framework_id"] == {"value": "fw-1"}


def test_no_leader_is_reported_until_one_is_detected(world: World) -> None:
    master = world.master()
    detector = SwitchDetector(None)
    driver, recorder = world.driver(detector, timeout=0.2)
    eventually(lambda: driver.last_error, what="an error")
    assert driver.last_error == f"no leading Mesos master known in {detector}"
    detector.point_at(master.address)
    eventually(lambda: recorder.named("registered"), what="registered")
    assert driver.last_error is None


@pytest.mark.parametrize("location", ["//127.0.0.1:{port}/api/v1/scheduler",
                                      "http://127.0.0.1:{port}/api/v1/scheduler"])
def test_a_redirect_leads_to_the_leading_master(world: World, location: str) -> None:
    leader, follower = world.master(), world.master()
    follower.answers.append(Answer(307, headers={"Location": location.format(port=leader.port)}))
    driver, recorder = world.driver(follower.address)
    eventually(lambda: recorder.named("registered"), what="registered")
    assert driver.master == leader.address
    driver.revive()
    assert [r.type for r in leader.requests] == ["SUBSCRIBE", "REVIVE"]
    assert [r.type for r in follower.requests] == ["SUBSCRIBE"]


def test_a_503_is_retried(world: World) -> None:
    master = world.master()
    master.answers.extend([Answer(503, "No leading master"), Answer(503, "No leading master")])
    driver, recorder = world.driver(master.address)
    eventually(lambda: recorder.named("registered"), what="registered")
    assert len(master.subscribes()) == 3
    assert driver.last_error is None
    assert recorder.named("error") == []


@pytest.mark.parametrize("code", [400, 401, 403])
def test_a_refused_subscribe_is_reported_and_retried_with_backoff(world: World,
                                                                  code: int) -> None:
    master = world.master()
    refusal = Answer(code, "Framework is not\nauthorized")
    master.answers.extend([refusal] * 3)
    driver, recorder = world.driver(master.address)
    message = f"Mesos master {master.address} refused SUBSCRIBE: {code} Framework is not " \
              "authorized"
    eventually(lambda: driver.last_error == message, what="last_error")
    eventually(lambda: recorder.named("registered"), what="registered once accepted")
    assert len(master.subscribes()) == 4
    assert recorder.named("error") == [(message,)]  # once, not per retry
    assert driver.last_error is None


def test_an_unreachable_master_is_named_in_last_error(world: World) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    driver, _ = world.driver(f"127.0.0.1:{port}")
    expected = f"cannot reach Mesos master 127.0.0.1:{port}: connection refused"
    eventually(lambda: driver.last_error == expected, what=expected)
    with pytest.raises(NotSubscribed, match="connection refused"):
        driver.revive()


def test_an_error_event_is_reported_and_subscribing_goes_on(world: World) -> None:
    master, driver, recorder = subscribed(world)
    removed = {"type": "ERROR", "error": {"message": "Framework has been removed"}}
    master.answers.extend([Answer(events=[removed], then_close=True)] * 2)
    master.send(removed)
    master.end_stream()
    eventually(lambda: len(master.subscribes()) >= 3, what="subscribing again")
    message = f"Mesos master {master.address} sent ERROR: Framework has been removed"
    assert recorder.names()[:3] == ["registered", "error", "disconnected"]
    assert recorder.named("error") == [(message,)]
    eventually(lambda: recorder.named("reregistered"), what="accepted again")
    assert driver.last_error is None


# -- stopping ---------------------------------------------------------------------------------

def test_stop_with_failover_closes_the_stream_and_keeps_the_framework(world: World) -> None:
    master, driver, recorder = subscribed(world)
    driver.stop()
    assert driver.join(30)
    eventually(lambda: master.stream.closed.is_set(), what="the stream closed")
    assert master.calls("TEARDOWN") == []
    assert not driver.connected
    assert "disconnected" not in recorder.names()
    with pytest.raises(NotSubscribed, match="stopped"):
        driver.revive()


def test_stop_without_failover_tears_the_framework_down(world: World) -> None:
    master, driver, _ = subscribed(world)
    driver.stop(failover=False)
    assert driver.join(30)
    [teardown] = master.calls("TEARDOWN")
    assert teardown.body == {"type": "TEARDOWN", "framework_id": {"value": "fw-1"}}
    assert teardown.headers["mesos-stream-id"] == master.stream.id
    eventually(lambda: master.stream.closed.is_set(), what="the stream closed")
    assert len(master.subscribes()) == 1
