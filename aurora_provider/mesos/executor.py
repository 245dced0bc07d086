"""The v1 executor driver: an executor subscribed to its Mesos agent over HTTP.

The agent starts the executor with its coordinates in the environment
(``ExecutorEnvironment``). ``MesosExecutorDriver.start()`` starts one thread that POSTs
SUBSCRIBE to ``http://$MESOS_AGENT_ENDPOINT/api/v1/executor``, reads the RecordIO event
stream and calls the ``Executor``'s callbacks (pymesos's names) on that thread, one at a
time. ``sendStatusUpdate`` and ``sendFrameworkMessage`` are POSTs of their own, safe from
any thread.

Reliability follows the v1 executor library: every UPDATE is kept until the agent
ACKNOWLEDGEs its uuid, and each SUBSCRIBE carries the updates still unacknowledged and the
tasks launched whose terminal update is not acknowledged yet. When the agent goes away
(the stream ends or breaks, the connection is refused):

* with ``MESOS_CHECKPOINT=1`` the driver subscribes again after a random wait of up to
  ``MESOS_SUBSCRIPTION_BACKOFF_MAX``, for up to ``MESOS_RECOVERY_TIMEOUT``;
* without checkpointing, or once the recovery timeout ran out, or when the agent cannot be
  reached at the very start, it calls ``shutdown`` and its thread ends: the executor is
  then expected to end its tasks and exit.

An agent that answers SUBSCRIBE with 503 or 404 (still recovering) is asked again every
second; any other refusal calls ``error`` and then ``shutdown``.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from .errors import CallError, CallRejected, MesosError, NotSubscribed
from .http import EventStream, b64decode, b64encode, failure_reason, join_driver_thread
from .recordio import RecordIOError

log = logging.getLogger(__name__)

API_PATH = "/api/v1/executor"
CALL_TIMEOUT_SECS = 10.0
NOT_READY_RETRY_SECS = 1.0  # an agent still recovering is asked again this often
REGISTRATION_TIMEOUT_SECS = 60.0  # Mesos's --executor_registration_timeout default
TERMINAL_STATES = frozenset({
    "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
    "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR",
})  # fmt: skip

_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "secs": 1.0, "mins": 60.0, "hrs": 3600.0,
          "days": 86400.0, "weeks": 604800.0}  # fmt: skip
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|secs|mins|hrs|days|weeks)")


class ExecutorEnvironmentError(MesosError, ValueError):
    """The environment is not one a Mesos agent sets for its executors."""


class AgentUnreachable(CallError):
    """The POST of a call got no answer from the agent."""


def parse_duration(text: str) -> float:
    """Seconds in a Mesos duration: ``250ms``, ``5secs``, ``1.5mins``, ``2weeks``."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Mesos duration (a number and one of "
                         f"{', '.join(_UNITS)}, e.g. 5secs)")  # fmt: skip
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class ExecutorEnvironment:
    """What the agent tells its executor through the environment."""

    agent_endpoint: str  # host:port
    framework_id: str
    executor_id: str
    shutdown_grace_period: float  # seconds the agent waits after SHUTDOWN
    checkpoint: bool = False
    recovery_timeout: float = 0.0  # with checkpointing: how long to wait for the agent
    backoff_max: float = 0.0  # with checkpointing: the longest wait between subscriptions
    directory: str | None = None  # the sandbox on the host
    sandbox: str | None = None  # the sandbox as the executor sees it

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ExecutorEnvironment:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ExecutorEnvironmentError(
                    f"{name} is not set: an executor is started by a Mesos agent, which sets "
                    "MESOS_AGENT_ENDPOINT, MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID and "
                    "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD (and with MESOS_CHECKPOINT=1, "
                    "MESOS_RECOVERY_TIMEOUT and MESOS_SUBSCRIPTION_BACKOFF_MAX)")
            return value

        def duration(name: str) -> float:
            try:
                return parse_duration(required(name))
            except ExecutorEnvironmentError:
                raise
            except ValueError as e:
                raise ExecutorEnvironmentError(f"{name}: {e}") from e

        endpoint = required("MESOS_AGENT_ENDPOINT")
        host, _, port = endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise ExecutorEnvironmentError(
                f"MESOS_AGENT_ENDPOINT={endpoint!r} is not the agent's host:port")
        flag = env.get("MESOS_CHECKPOINT", "0").strip().lower()
        if flag not in ("0", "1", "false", "true", ""):
            raise ExecutorEnvironmentError(f"MESOS_CHECKPOINT={flag!r}: expected 0 or 1")
        checkpoint = flag in ("1", "true")
        directory = env.get("MESOS_DIRECTORY") or None
        return cls(
            agent_endpoint=endpoint,
            framework_id=required("MESOS_FRAMEWORK_ID"),
            executor_id=required("MESOS_EXECUTOR_ID"),
            shutdown_grace_period=duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"),
            checkpoint=checkpoint,
            recovery_timeout=duration("MESOS_RECOVERY_TIMEOUT") if checkpoint else 0.0,
            backoff_max=duration("MESOS_SUBSCRIPTION_BACKOFF_MAX") if checkpoint else 0.0,
            directory=directory,
            sandbox=env.get("MESOS_SANDBOX") or directory,
        )


class Executor(Protocol):
    """What the executor implements; called on the driver's thread, so keep them short."""

    def registered(self, driver: MesosExecutorDriver, executor_info: dict[str, Any],
                   framework_info: dict[str, Any], agent_info: dict[str, Any]) -> None:
        """Subscribed for the first time."""

    def reregistered(self, driver: MesosExecutorDriver, agent_info: dict[str, Any]) -> None:
        """Subscribed again (a restarted agent, or the stream came back)."""

    def disconnected(self, driver: MesosExecutorDriver) -> None: ...

    def launchTask(self, driver: MesosExecutorDriver, task: dict[str, Any]) -> None:
        """``task`` is the v1 ``TaskInfo`` JSON (its ``data`` base64)."""

    def killTask(self, driver: MesosExecutorDriver, task_id: dict[str, Any]) -> None:
        """``task_id`` is a v1 ``TaskID``: ``{"value": ...}``."""

    def frameworkMessage(self, driver: MesosExecutorDriver, data: bytes) -> None: ...

    def shutdown(self, driver: MesosExecutorDriver) -> None:
        """Kill every task, report them, exit (within the shutdown grace period)."""

    def error(self, driver: MesosExecutorDriver, message: str) -> None: ...


@dataclass(frozen=True)
class _Lost:
    kind: str  # unreachable, lost (a stream ended), not-ready (503/404), refused
    message: str


class MesosExecutorDriver:
    """An executor's connection to its agent (see the module's docstring).

    :param executor: the callbacks.
    :param env: the environment the agent set (``os.environ`` by default); a missing or
        malformed variable raises ``ExecutorEnvironmentError`` here.
    """

    def __init__(self, executor: Executor, *, env: Mapping[str, str] = os.environ) -> None:
        self.environment = ExecutorEnvironment.from_env(env)
        self._executor = executor
        self._url = f"http://{self.environment.agent_endpoint}{API_PATH}"
        self._ids = {"framework_id": {"value": self.environment.framework_id},
                     "executor_id": {"value": self.environment.executor_id}}  # fmt: skip
        self._lock = threading.Condition()
        self._send_lock = threading.Lock()  # keeps UPDATEs in the order they were sent
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._calls: httpx.Client | None = None
        self._stream: EventStream | None = None
        self._subscribed = False
        self._registered = False
        self._down_since: float | None = None  # when the agent went away
        self._updates: dict[str, dict[str, Any]] = {}  # uuid -> Call.Update, unacknowledged
        self._unsent: set[str] = set()  # updates sent while not subscribed (nor since)
        self._tasks: dict[str, dict[str, Any]] = {}  # task id -> TaskInfo, not ended yet
        self._ended = False  # the driver's thread is done

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe from a thread of the driver's own; returns at once."""
        with self._lock:
            if self._thread is not None:
                raise MesosError("this Mesos executor driver was started already")
            self._calls = httpx.Client(timeout=CALL_TIMEOUT_SECS,
                                       headers={"Accept": "application/json"})
            self._thread = threading.Thread(target=self._run, name="mesos-executor-driver",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Close the stream and end the driver's thread (``join`` waits for it)."""
        self._stopping.set()
        with self._lock:
            stream = self._stream
            self._lock.notify_all()
        if stream is not None:
            stream.cut()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the driver's thread to end (after ``stop`` or ``shutdown``); whether it has."""
        return join_driver_thread(self._thread, timeout)

    def run(self) -> None:
        self.start()
        self.join()

    @property
    def connected(self) -> bool:
        """Subscribed to the agent now."""
        with self._lock:
            return self._subscribed

    # -- calls ---------------------------------------------------------------------------------

    def sendStatusUpdate(self, status: Mapping[str, Any]) -> str:
        """Send a v1 ``TaskStatus`` (``task_id``, ``state``, ``message``...); its uuid.

        The driver fills ``uuid``, ``timestamp``, ``source`` and ``executor_id`` when absent
        and keeps the update until the agent acknowledges it: an update that cannot be
        posted now goes with the next SUBSCRIBE, so this never raises for the wire.
        """
        full = dict(status)
        full.setdefault("uuid", b64encode(uuid.uuid4().bytes))
        full.setdefault("timestamp", time.time())
        full.setdefault("source", "SOURCE_EXECUTOR")
        full.setdefault("executor_id", self._ids["executor_id"])
        key = _uuid_key(full["uuid"])
        with self._send_lock:
            with self._lock:
                self._updates[key] = {"status": full}
                subscribed = self._subscribed
                if not subscribed:
                    self._unsent.add(key)
            if subscribed:
                self._post_update(key)
        return key

    def sendFrameworkMessage(self, data: bytes) -> None:
        """Unreliable, as in Mesos: ``NotSubscribed`` or another ``CallError`` if not sent."""
        self._post("MESSAGE", {"data": b64encode(data)})

    def wait_acknowledged(self, timeout: float) -> bool:
        """Wait until every update sent is acknowledged; False after ``timeout`` seconds or
        once the driver has ended with updates unacknowledged."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._updates and not self._ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return not self._updates

    def _post_update(self, key: str) -> None:
        with self._lock:
            update = self._updates.get(key)
        if update is None:
            return  # acknowledged meanwhile
        try:
            self._post("UPDATE", update)
        except CallError as e:  # kept: the next SUBSCRIBE carries it
            log.warning("%s: it is sent again when the executor subscribes again", e)

    def _post(self, kind: str, body: dict[str, Any]) -> None:
        with self._lock:
            client, subscribed = self._calls, self._subscribed
        if client is None or not subscribed:
            raise NotSubscribed(f"cannot send {kind}: not subscribed to the agent at "
                                f"{self.environment.agent_endpoint}")
        payload = {"type": kind, **self._ids, kind.lower(): body}
        try:
            response = client.post(self._url, json=payload)
        except httpx.HTTPError as e:
            raise AgentUnreachable(f"cannot send {kind} to the agent at "
                                   f"{self.environment.agent_endpoint}: {failure_reason(e)}") from e
        except RuntimeError as e:  # the client is closed: the driver stopped meanwhile
            raise NotSubscribed(f"cannot send {kind}: the Mesos executor driver stopped") from e
        if response.status_code != 202:
            text = " ".join(response.text.split())[:300]
            raise CallRejected(f"the agent refused {kind}: {response.status_code} {text}".rstrip(),
                               response.status_code, text)

    # -- the driver's thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    lost = self._attempt()
                except Exception as e:  # a bug of ours: the executor must still hear of it
                    log.exception("the Mesos executor driver failed")
                    lost = _Lost("refused", f"the Mesos executor driver failed: {e}")
                if lost is None or self._stopping.is_set():
                    break
                delay = self._retry_delay(lost)
                if delay is None:
                    break
                self._stopping.wait(delay)
        finally:
            with self._lock:
                self._subscribed, self._ended = False, True
                client, self._calls = self._calls, None
                self._lock.notify_all()
            if client is not None:
                client.close()

    def _retry_delay(self, lost: _Lost) -> float | None:
        """How long to wait before subscribing again; None: give up (after ``shutdown``)."""
        env = self.environment
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        if lost.kind == "refused":
            self._safely("error", lambda: self._executor.error(self, lost.message))
            self._give_up(lost.message)
            return None
        if lost.kind == "not-ready":
            window = env.recovery_timeout if env.checkpoint else REGISTRATION_TIMEOUT_SECS
            delay = NOT_READY_RETRY_SECS
        elif env.checkpoint and (self._registered or lost.kind == "lost"):
            window, delay = env.recovery_timeout, random.uniform(0, env.backoff_max)
        else:
            self._give_up(lost.message)
            return None
        if now - self._down_since >= window:
            self._give_up(f"{lost.message}, for {window:g} s")
            return None
        log.info("%s; subscribing again in %.2f s", lost.message, delay)
        return max(delay, 0.01)

    def _give_up(self, message: str) -> None:
        log.warning("%s; shutting down", message)
        self._safely("shutdown", lambda: self._executor.shutdown(self))

    def _attempt(self) -> _Lost | None:
        request_body = self._subscribe_call()
        where = f"the agent at {self.environment.agent_endpoint}"
        client = httpx.Client(timeout=httpx.Timeout(CALL_TIMEOUT_SECS, read=None))
        try:
            try:
                response = client.send(client.build_request(
                    "POST", self._url, json=request_body,
                    headers={"Accept": "application/json"}), stream=True)
            except httpx.HTTPError as e:
                return _Lost("unreachable", f"cannot reach {where}: {failure_reason(e)}")
            try:
                if response.status_code != 200:
                    status = response.status_code
                    text = " ".join(response.read().decode(errors="replace").split())[:300]
                    kind = "not-ready" if status in (503, 404) else "refused"
                    return _Lost(kind, f"{where} answered SUBSCRIBE with {status} {text}".rstrip())
                return self._read(where, EventStream(response))
            finally:
                response.close()
        finally:
            client.close()

    def _subscribe_call(self) -> dict[str, Any]:
        with self._lock:
            self._unsent.clear()  # every update so far goes in this SUBSCRIBE
            subscribe = {"unacknowledged_tasks": list(self._tasks.values()),
                         "unacknowledged_updates": list(self._updates.values())}  # fmt: skip
        return {"type": "SUBSCRIBE", **self._ids, "subscribe": subscribe}

    def _read(self, where: str, stream: EventStream) -> _Lost | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            self._stream = stream
        try:
            for event in stream:
                self._dispatch(event)
            ended = "closed the event stream"
        except RecordIOError as e:
            ended = f"sent a broken event stream ({e})"
        except httpx.HTTPError as e:
            ended = f"broke the event stream ({failure_reason(e)})"
        finally:
            with self._lock:
                was_subscribed, self._subscribed, self._stream = self._subscribed, False, None
        if self._stopping.is_set():
            return None
        if was_subscribed:
            self._safely("disconnected", lambda: self._executor.disconnected(self))
        return _Lost("lost", f"{where} {ended}")

    # -- events --------------------------------------------------------------------------------

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type"))
        e = self._executor
        try:
            if kind == "SUBSCRIBED":
                self._on_subscribed(event["subscribed"])
            elif kind == "LAUNCH":
                task = dict(event["launch"]["task"])
                with self._lock:
                    self._tasks[str(task["task_id"]["value"])] = task
                self._safely("launchTask", lambda: e.launchTask(self, task))
            elif kind == "LAUNCH_GROUP":
                self._refuse_group(event["launch_group"]["task_group"])
            elif kind == "KILL":
                task_id = dict(event["kill"]["task_id"])
                self._safely("killTask", lambda: e.killTask(self, task_id))
            elif kind == "ACKNOWLEDGED":
                self._on_acknowledged(event["acknowledged"])
            elif kind == "MESSAGE":
                data = b64decode(event["message"].get("data") or "", "MESSAGE data")
                self._safely("frameworkMessage", lambda: e.frameworkMessage(self, data))
            elif kind == "SHUTDOWN":
                self._safely("shutdown", lambda: e.shutdown(self))
            elif kind == "ERROR":
                message = str((event.get("error") or {}).get("message") or "no message")
                self._safely("error", lambda: e.error(self, message))
            elif kind != "HEARTBEAT":
                log.warning("ignoring an unknown %s event from the agent", kind)
        except (KeyError, TypeError, ValueError) as error:
            log.warning("ignoring a malformed %s event from the agent: %s", kind, error)

    def _on_subscribed(self, subscribed: dict[str, Any]) -> None:
        agent_info = dict(subscribed.get("agent_info") or {})
        with self._send_lock:
            with self._lock:
                self._subscribed, again, self._registered = True, self._registered, True
                self._down_since = None
                unsent = [key for key in self._updates if key in self._unsent]  # in order
                self._unsent = set()
            for key in unsent:  # sent after the SUBSCRIBE was written
                self._post_update(key)
        log.info("%s the agent at %s", "subscribed again to" if again else "subscribed to",
                 self.environment.agent_endpoint)
        if again:
            self._safely("reregistered", lambda: self._executor.reregistered(self, agent_info))
        else:
            executor_info = dict(subscribed.get("executor_info") or {})
            framework_info = dict(subscribed.get("framework_info") or {})
            self._safely("registered", lambda: self._executor.registered(
                self, executor_info, framework_info, agent_info))

    def _on_acknowledged(self, acknowledged: dict[str, Any]) -> None:
        key = _uuid_key(acknowledged["uuid"])
        with self._lock:
            update = self._updates.pop(key, None)
            if update is None:
                log.debug("an acknowledgement for an unknown update %s", key)
                return
            status = update["status"]
            if status.get("state") in TERMINAL_STATES:
                self._tasks.pop(str(status["task_id"]["value"]), None)
            self._lock.notify_all()

    def _refuse_group(self, group: dict[str, Any]) -> None:
        """This executor runs one task per LAUNCH: a group fails, every task of it."""
        for task in group.get("tasks") or []:
            with self._lock:
                self._tasks[str(task["task_id"]["value"])] = dict(task)
            status = {"task_id": task["task_id"], "state": "TASK_FAILED",
                      "message": "task groups are not supported",
                      "reason": "REASON_TASK_GROUP_INVALID"}  # fmt: skip
            if "agent_id" in task:
                status["agent_id"] = task["agent_id"]
            self.sendStatusUpdate(status)

    def _safely(self, name: str, callback: Callable[[], None]) -> bool:
        """Run a callback; a failing one is logged and does not end the subscription."""
        try:
            callback()
        except Exception:
            log.exception("the executor's %s callback failed", name)
            return False
        return True


def _uuid_key(text: str) -> str:
    """The canonical base64 of an update's uuid (how both sides spell it may differ)."""
    return b64encode(b64decode(str(text), "an update's uuid"))
