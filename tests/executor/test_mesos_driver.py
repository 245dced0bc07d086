"""The v1 executor driver against a scripted agent: the executor HTTP API on 127.0.0.1.

``ScriptedAgent`` answers ``/api/v1/executor`` as a Mesos agent does (SUBSCRIBE: a chunked
RecordIO stream opened by SUBSCRIBED; UPDATE and MESSAGE: 202), records every call, sends
the events a test pushes, and can drop its stream, refuse subscriptions, go away and come
back on the same port. ``tests/executor/test_mesos_executor.py`` launches the real
``aurora-executor`` against it.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aurora_provider.mesos.executor import (
    ExecutorEnvironment,
    ExecutorEnvironmentError,
    MesosExecutorDriver,
    parse_duration,
)
from aurora_provider.mesos.recordio import encode
from tests.eventually import eventually

pytestmark = pytest.mark.process

FRAMEWORK_ID = "framework-1"
EXECUTOR_ID = "thermos-task-1"
AGENT_ID = "agent-1"
_CLOSE = object()


class ScriptedAgent:
    """A Mesos agent's executor API, scripted by the test (see the module's docstring)."""

    def __init__(self, *, auto_ack: bool = True) -> None:
        self.auto_ack = auto_ack
        self.refuse_with: int | None = None  # answer SUBSCRIBE with this status instead
        self.gate: threading.Event | None = None  # SUBSCRIBED waits for it when set
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._streams: list[queue.Queue[Any]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- the test's side --------------------------------------------------------------------
    def start(self) -> ScriptedAgent:
        agent = self

        class Handler(_Handler):
            scripted = agent

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = False  # server_close() joins the handlers
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go away: close the streams, stop listening (connections are refused)."""
        self.drop_streams()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self, *, checkpoint: bool = False, **extra: str) -> dict[str, str]:
        """The environment a real agent gives its executor."""
        env = {"MESOS_AGENT_ENDPOINT": self.endpoint, "MESOS_FRAMEWORK_ID": FRAMEWORK_ID,
               "MESOS_EXECUTOR_ID": EXECUTOR_ID, "MESOS_SLAVE_ID": AGENT_ID,
               "MESOS_SLAVE_PID": f"slave(1)@{self.endpoint}",
               "MESOS_CHECKPOINT": "1" if checkpoint else "0",
               "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
               "MESOS_HTTP_COMMAND_EXECUTOR": "0"}  # fmt: skip
        if checkpoint:
            env.update(MESOS_RECOVERY_TIMEOUT="15mins", MESOS_SUBSCRIPTION_BACKOFF_MAX="200ms")
        env.update(extra)
        return env

    def push(self, event: dict[str, Any]) -> None:
        """Send an event on the open stream (the latest subscription)."""
        with self._lock:
            self._streams[-1].put(event)

    def drop_streams(self) -> None:
        with self._lock:
            streams, self._streams = self._streams, []
        for stream in streams:
            stream.put(_CLOSE)

    def subscriptions(self) -> list[dict[str, Any]]:
        return [c for c in list(self.calls) if c["type"] == "SUBSCRIBE"]

    def updates(self) -> list[dict[str, Any]]:
        """Every status received once, in order: UPDATE calls and, as a real agent takes
        them, the updates a SUBSCRIBE carries."""
        statuses: dict[str, dict[str, Any]] = {}
        for call in list(self.calls):
            if call["type"] == "UPDATE":
                carried = [call["update"]]
            else:
                carried = call.get("subscribe", {}).get("unacknowledged_updates", [])
            for update in carried:
                statuses.setdefault(update["status"]["uuid"], update["status"])
        return list(statuses.values())

    def states(self) -> list[str]:
        return [u["state"] for u in self.updates()]

    def acknowledge(self, status: dict[str, Any]) -> None:
        self.push({"type": "ACKNOWLEDGED", "acknowledged": {
            "task_id": status["task_id"], "uuid": status["uuid"]}})

    def launch(self, task: dict[str, Any]) -> None:
        self.push({"type": "LAUNCH", "launch": {"framework_info": framework_info(),
                                                "task": task}})

    # -- the handler's side -----------------------------------------------------------------
    def _record(self, call: dict[str, Any]) -> queue.Queue[Any] | None:
        with self._lock:
            self.calls.append(call)
            if call.get("type") != "SUBSCRIBE" or self.refuse_with is not None:
                return None
            stream: queue.Queue[Any] = queue.Queue()
            self._streams.append(stream)
        stream.put({"type": "SUBSCRIBED", "subscribed": {
            "executor_info": {"executor_id": {"value": EXECUTOR_ID},
                              "framework_id": {"value": FRAMEWORK_ID},
                              "command": {"value": "aurora-executor"}},
            "framework_info": framework_info(), "agent_id": {"value": AGENT_ID},
            "agent_info": {"id": {"value": AGENT_ID}, "hostname": "127.0.0.1",
                           "port": self.port}, "container_id": {"value": "container-1"}}})
        if self.auto_ack:  # a real agent handles the updates a SUBSCRIBE carries as sent
            for update in call["subscribe"].get("unacknowledged_updates", []):
                status = update["status"]
                stream.put({"type": "ACKNOWLEDGED", "acknowledged": {
                    "task_id": status["task_id"], "uuid": status["uuid"]}})
        return stream

    def _updated(self, status: dict[str, Any]) -> None:
        if self.auto_ack:
            with self._lock:
                if self._streams:
                    self._streams[-1].put({"type": "ACKNOWLEDGED", "acknowledged": {
                        "task_id": status["task_id"], "uuid": status["uuid"]}})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    scripted: ScriptedAgent
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        call = json.loads(body)
        stream = self.scripted._record(call)
        if call.get("type") == "SUBSCRIBE":
            if stream is None:
                self._answer(self.scripted.refuse_with or 503, b"Agent is recovering")
                return
            self._stream(stream)
            return
        self._answer(202, b"")
        if call.get("type") == "UPDATE":
            self.scripted._updated(call["update"]["status"])

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _stream(self, events: queue.Queue[Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        if self.scripted.gate is not None:
            self.scripted.gate.wait(60)
        try:
            while (event := events.get()) is not _CLOSE:
                record = encode(event)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(record), record))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the executor went away


def framework_info() -> dict[str, Any]:
    return {"id": {"value": FRAMEWORK_ID}, "user": "root", "name": "aurora",
            "checkpoint": True}  # fmt: skip


def task_info(task_id: str = "task-1", data: str = "") -> dict[str, Any]:
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": {"value": AGENT_ID},
            "resources": [], "data": data,
            "executor": {"executor_id": {"value": EXECUTOR_ID}}}  # fmt: skip


class Recorder:
    """An executor that records its callbacks (name, argument)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def names(self) -> list[str]:
        return [name for name, _ in list(self.events)]

    def registered(self, driver: Any, executor_info: Any, framework_info: Any,
                   agent_info: Any) -> None:  # fmt: skip
        self.events.append(("registered", agent_info))

    def reregistered(self, driver: Any, agent_info: Any) -> None:
        self.events.append(("reregistered", agent_info))

    def disconnected(self, driver: Any) -> None:
        self.events.append(("disconnected", None))

    def launchTask(self, driver: Any, task: Any) -> None:
        self.events.append(("launchTask", task))

    def killTask(self, driver: Any, task_id: Any) -> None:
        self.events.append(("killTask", task_id))

    def frameworkMessage(self, driver: Any, data: bytes) -> None:
        self.events.append(("frameworkMessage", data))

    def shutdown(self, driver: Any) -> None:
        self.events.append(("shutdown", None))

    def error(self, driver: Any, message: str) -> None:
        self.events.append(("error", message))


@pytest.fixture
def agent() -> Iterator[ScriptedAgent]:
    a = ScriptedAgent().start()
    yield a
    a.stop()


class Drivers:
    def __init__(self) -> None:
        self.started: list[MesosExecutorDriver] = []

    def start(self, env: dict[str, str]) -> tuple[MesosExecutorDriver, Recorder]:
        recorder = Recorder()
        driver = MesosExecutorDriver(recorder, env=env)
        driver.start()
        self.started.append(driver)
        return driver, recorder


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    d = Drivers()
    yield d
    for driver in d.started:
        driver.stop()
        assert driver.join(30)


def running(task_id: str = "task-1") -> dict[str, Any]:
    return {"task_id": {"value": task_id}, "state": "TASK_RUNNING", "message": "up"}


def test_subscribes_and_delivers_the_agents_events(agent: ScriptedAgent,
                                                   drivers: Drivers) -> None:  # fmt: skip
    driver, executor = drivers.start(agent.env())
    eventually(lambda: "registered" in executor.names(), what="registered")
    (subscribe,) = agent.subscriptions()
    assert subscribe["framework_id"] == {"value": FRAMEWORK_ID}
    assert subscribe["executor_id"] == {"value": EXECUTOR_ID}
    assert subscribe["subscribe"] == {"unacknowledged_tasks": [], "unacknowledged_updates": []}
    assert driver.connected

    agent.launch(task_info())
    agent.push({"type": "KILL", "kill": {"task_id": {"value": "task-1"}}})
    agent.push({"type": "MESSAGE", "message": {"data": base64.b64encode(b"hi").decode()}})
    agent.push({"type": "HEARTBEAT"})
    agent.push({"type": "ERROR", "error": {"message": "something odd"}})
    agent.push({"type": "SHUTDOWN"})
    eventually(lambda: "shutdown" in executor.names(), what="shutdown")
    assert executor.events[1:] == [
        ("launchTask", task_info()), ("killTask", {"value": "task-1"}),
        ("frameworkMessage", b"hi"), ("error", "something odd"), ("shutdown", None)]

    driver.sendFrameworkMessage(b"hello")
    eventually(lambda: any(c["type"] == "MESSAGE" for c in agent.calls), what="message")
    message = next(c for c in agent.calls if c["type"] == "MESSAGE")
    assert base64.b64decode(message["message"]["data"]) == b"hello"


def test_an_update_has_a_uuid_and_is_kept_until_acknowledged(drivers: Drivers) -> None:
    agent = ScriptedAgent(auto_ack=False).start()
    try:
        driver, _ = drivers.start(agent.env())
        eventually(lambda: driver.connected, what="subscribed")
        uuid = driver.sendStatusUpdate(running())
        (sent,) = agent.updates()
        assert sent["uuid"] == uuid and len(base64.b64decode(uuid)) == 16
        assert sent["source"] == "SOURCE_EXECUTOR"
        assert sent["executor_id"] == {"value": EXECUTOR_ID}
        assert sent["state"] == "TASK_RUNNING" and isinstance(sent["timestamp"], float)
        assert not driver.wait_acknowledged(0)
        agent.acknowledge(sent)
        assert driver.wait_acknowledged(30)
    finally:
        agent.stop()


def test_a_task_group_is_refused(agent: ScriptedAgent, drivers: Drivers) -> None:
    driver, executor = drivers.start(agent.env())
    eventually(lambda: driver.connected, what="subscribed")
    agent.push({"type": "LAUNCH_GROUP", "launch_group": {
        "task_group": {"tasks": [task_info("a"), task_info("b")]}}})
    eventually(lambda: len(agent.updates()) == 2, what="two updates")
    for status, task_id in zip(agent.updates(), ("a", "b"), strict=True):
        assert status["task_id"] == {"value": task_id}
        assert (status["state"], status["message"]) == ("TASK_FAILED",
                                                         "task groups are not supported")
    assert "launchTask" not in executor.names()


def test_after_the_stream_drops_it_subscribes_again_with_what_is_unacknowledged(
        drivers: Drivers) -> None:  # fmt: skip
    agent = ScriptedAgent(auto_ack=False).start()
    try:
        driver, executor = drivers.start(agent.env(checkpoint=True))
        eventually(lambda: driver.connected, what="subscribed")
        agent.launch(task_info())
        eventually(lambda: "launchTask" in executor.names(), what="launched")
        driver.sendStatusUpdate({"task_id": {"value": "task-1"}, "state": "TASK_STARTING"})
        driver.sendStatusUpdate(running())
        first, second = agent.updates()
        agent.acknowledge(first)  # a task stays unacknowledged until its end is acknowledged

        sync(agent, executor)  # the acknowledgement is handled
        agent.drop_streams()
        eventually(lambda: ("reregistered" in executor.names()), what="subscribed again")
        assert executor.names()[-2:] == ["disconnected", "reregistered"]
        again = agent.subscriptions()[-1]["subscribe"]
        assert again["unacknowledged_updates"] == [{"status": second}]
        assert again["unacknowledged_tasks"] == [task_info()]

        # The task's end, acknowledged: it is no longer unacknowledged.
        agent.acknowledge(second)
        finished = driver.sendStatusUpdate({"task_id": {"value": "task-1"},
                                            "state": "TASK_FINISHED"})
        agent.acknowledge(agent.updates()[-1])
        assert agent.updates()[-1]["uuid"] == finished
        assert driver.wait_acknowledged(30)
        agent.drop_streams()
        eventually(lambda: len(agent.subscriptions()) == 3, what="a third subscription")
        assert agent.subscriptions()[-1]["subscribe"] == {"unacknowledged_tasks": [],
                                                          "unacknowledged_updates": []}
    finally:
        agent.stop()


def sync(agent: ScriptedAgent, executor: Recorder) -> None:
    """Wait until the driver handled every event sent so far (events come in order)."""
    token = f"sync-{len(executor.events)}".encode()
    agent.push({"type": "MESSAGE", "message": {"data": base64.b64encode(token).decode()}})
    eventually(lambda: ("frameworkMessage", token) in executor.events, what="in sync")


def test_updates_sent_while_the_agent_is_away_reach_it_when_it_is_back(
        drivers: Drivers) -> None:  # fmt: skip
    agent = ScriptedAgent().start()
    try:
        driver, executor = drivers.start(agent.env(checkpoint=True))
        eventually(lambda: driver.connected, what="subscribed")
        agent.stop()  # the agent restarts: it goes away...
        eventually(lambda: not driver.connected, what="disconnected")
        driver.sendStatusUpdate(running())
        agent.start()  # ...and comes back on the same port
        eventually(lambda: driver.wait_acknowledged(0), what="the update acknowledged")
        assert agent.subscriptions()[-1]["subscribe"]["unacknowledged_updates"][0]["status"][
            "state"] == "TASK_RUNNING"
        assert "shutdown" not in executor.names()
    finally:
        agent.stop()


def test_updates_sent_while_subscribing_are_posted_in_order(drivers: Drivers) -> None:
    agent = ScriptedAgent()
    agent.gate = threading.Event()  # the agent is slow to say SUBSCRIBED
    agent.start()
    try:
        driver, _ = drivers.start(agent.env())
        eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
        for state in ("TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"):
            driver.sendStatusUpdate({"task_id": {"value": "task-1"}, "state": state})
        assert agent.states() == []  # not in the SUBSCRIBE, and not posted yet
        agent.gate.set()
        eventually(lambda: driver.wait_acknowledged(0), what="acknowledged")
        assert agent.states() == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    finally:
        agent.stop()


def test_without_checkpointing_a_lost_agent_shuts_the_executor_down_at_once(
        agent: ScriptedAgent, drivers: Drivers) -> None:  # fmt: skip
    driver, executor = drivers.start(agent.env(checkpoint=False))
    eventually(lambda: driver.connected, what="subscribed")
    agent.stop()
    assert driver.join(30)
    assert executor.names() == ["registered", "disconnected", "shutdown"]
    assert len(agent.subscriptions()) == 1


def test_with_checkpointing_it_gives_up_after_the_recovery_timeout(
        agent: ScriptedAgent, drivers: Drivers) -> None:  # fmt: skip
    env = agent.env(checkpoint=True, MESOS_RECOVERY_TIMEOUT="1secs")
    driver, executor = drivers.start(env)
    eventually(lambda: driver.connected, what="subscribed")
    agent.stop()
    assert driver.join(60)
    assert executor.names() == ["registered", "disconnected", "shutdown"]


def test_an_agent_not_ready_is_asked_again(drivers: Drivers) -> None:
    agent = ScriptedAgent()
    agent.refuse_with = 503
    agent.start()
    try:
        driver, executor = drivers.start(agent.env())
        eventually(lambda: len(agent.subscriptions()) >= 2, what="a second SUBSCRIBE")
        agent.refuse_with = None
        eventually(lambda: driver.connected, what="subscribed")
        assert executor.names() == ["registered"]
    finally:
        agent.stop()


def test_a_refused_subscription_is_an_error_then_a_shutdown(drivers: Drivers) -> None:
    agent = ScriptedAgent()
    agent.refuse_with = 400
    agent.start()
    try:
        driver, executor = drivers.start(agent.env())
        assert driver.join(30)
        assert executor.names() == ["error", "shutdown"]
        assert "400" in executor.events[0][1]
    finally:
        agent.stop()


def test_no_agent_at_all_shuts_down(drivers: Drivers) -> None:
    agent = ScriptedAgent().start()
    env = agent.env(checkpoint=True)
    agent.stop()  # nothing listens on that port now
    driver, executor = drivers.start(env)
    assert driver.join(30)
    assert executor.names() == ["shutdown"]


@pytest.mark.parametrize(("change", "message"), [
    ({"MESOS_AGENT_ENDPOINT": ""}, "MESOS_AGENT_ENDPOINT is not set"),
    ({"MESOS_AGENT_ENDPOINT": "localhost"}, "is not the agent's host:port"),
    ({"MESOS_EXECUTOR_ID": None}, "MESOS_EXECUTOR_ID is not set"),
    ({"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5 seconds"}, "is not a Mesos duration"),
    ({"MESOS_CHECKPOINT": "yes"}, "expected 0 or 1"),
    ({"MESOS_CHECKPOINT": "1"}, "MESOS_RECOVERY_TIMEOUT is not set"),
])  # fmt: skip
def test_a_bad_environment_is_one_clear_error(change: dict[str, str | None],
                                              message: str) -> None:  # fmt: skip
    env = ScriptedAgent().env()
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    with pytest.raises(ExecutorEnvironmentError, match=message) as raised:
        MesosExecutorDriver(Recorder(), env=env)
    assert "\n" not in str(raised.value)


def test_the_environment_and_mesos_durations() -> None:
    env = ExecutorEnvironment.from_env(ScriptedAgent().env(
        checkpoint=True, MESOS_SANDBOX="/sb", MESOS_DIRECTORY="/dir"))
    assert (env.checkpoint, env.recovery_timeout, env.backoff_max) == (True, 900.0, 0.2)
    assert (env.shutdown_grace_period, env.sandbox, env.directory) == (5.0, "/sb", "/dir")
    assert [parse_duration(t) for t in ("10ns", "3us", "250ms", "1.5secs", "2mins", "1hrs",
                                        "1days", "1weeks")] == pytest.approx(
        [1e-8, 3e-6, 0.25, 1.5, 120.0, 3600.0, 86400.0, 604800.0])  # fmt: skip
    with pytest.raises(ValueError, match="not a Mesos duration"):
        parse_duration("5s")
