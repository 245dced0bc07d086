"""The v1 scheduler driver: a framework subscribed to the leading Mesos master over HTTP.

``MesosSchedulerDriver.start()`` starts one thread that finds the leader (``detector``),
POSTs SUBSCRIBE to ``http://<leader>/api/v1/scheduler``, reads the RecordIO event stream
incrementally and calls the ``Scheduler``'s callbacks (pymesos's names) on that thread.
When the subscription ends it subscribes again, with the framework id Mesos gave:

* a closed or broken stream, a 503, a connection error: retry after an exponential,
  capped backoff, asking the detector for the leader each time;
* a 307: subscribe at the ``Location`` it names (the leading master);
* a 4xx, or an ERROR event (say, the framework was torn down): ``last_error`` and the
  ``error`` callback say why, and the driver keeps retrying with backoff (a misconfigured
  framework neither spins nor takes the process down);
* a master silent for ``missed_heartbeats`` heartbeat intervals is gone: the stream is cut
  and the driver subscribes again (``disconnected`` is called once per lost subscription).

Calls (``launch``, ``decline``, ``acknowledge``...) are POSTs on kept-alive connections,
safe from any thread; each returns once the master answered 202 and raises a ``CallError``
otherwise: ``NotSubscribed`` when there is no subscription to send on (nothing was sent),
``MasterUnreachable`` or ``CallRejected`` when the POST failed. ``call_many`` makes many
calls at once, pipelined on one connection (as Mesos's own scheduler library does), and
returns each call's error or None.

Offers and statuses stay v1 JSON dicts (bytes fields base64, so a status's ``uuid`` goes back
in ACKNOWLEDGE as received); ids are plain strings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from . import calls
from .detector import MasterDetector, check_master, detector_for, without_credentials
from .errors import CallError, CallRejected, MasterUnreachable, MesosError, NotSubscribed
from .http import (
    Backoff,
    CallConnections,
    EventStream,
    SilenceWatchdog,
    b64decode,
    b64encode,
    failure_reason,
    join_driver_thread,
    json_body,
    redirect_address,
)
from .recordio import RecordIOError

log = logging.getLogger(__name__)

API_PATH = "/api/v1/scheduler"
DEFAULT_HEARTBEAT_SECS = 15.0  # Mesos's interval, until a SUBSCRIBED names its own
MAX_REDIRECTS = 3
STOP_LATENCY_SECS = 1.0  # the longest a wait for a leader goes without looking at stop()


class Scheduler(Protocol):
    """What the framework implements; called on the driver's thread, so keep them short."""

    def registered(self, driver: MesosSchedulerDriver, framework_id: str,
                   master: dict[str, Any]) -> None:
        """Subscribed for the first time with this id (``master`` is its MasterInfo)."""

    def reregistered(self, driver: MesosSchedulerDriver, master: dict[str, Any]) -> None:
        """Subscribed again with the same framework id."""

    def disconnected(self, driver: MesosSchedulerDriver) -> None: ...

    def resourceOffers(self, driver: MesosSchedulerDriver,
                       offers: list[dict[str, Any]]) -> None: ...

    def offerRescinded(self, driver: MesosSchedulerDriver, offer_id: str) -> None: ...

    def statusUpdate(self, driver: MesosSchedulerDriver,
                     status: dict[str, Any]) -> None: ...

    def frameworkMessage(self, driver: MesosSchedulerDriver, executor_id: str,
                         agent_id: str, data: bytes) -> None: ...

    def slaveLost(self, driver: MesosSchedulerDriver, agent_id: str) -> None: ...

    def executorLost(self, driver: MesosSchedulerDriver, executor_id: str,
                     agent_id: str, status: int | None) -> None: ...

    def error(self, driver: MesosSchedulerDriver, message: str) -> None: ...


@dataclass(frozen=True)
class _Failure:
    kind: str  # one warning per kind (and master) until the next subscription
    message: str
    notify: bool = False  # also tell the framework through ``error``


@dataclass(frozen=True)
class _Redirect:
    address: str


class _BadSubscribed(Exception):
    pass


class MesosSchedulerDriver:
    """A framework's connection to Mesos (see the module's docstring).

    :param scheduler: the callbacks.
    :param framework_info: the v1 ``FrameworkInfo`` as JSON (``user``, ``name``...); its
        ``id`` (or ``framework_id``) makes the subscription a failover of that framework.
    :param master: ``host:port``, ``zk://.../path``, ``file://...`` (the driver owns the
        detector it makes), or a ``MasterDetector`` (the caller stops it).
    :param framework_id: the id a previous run was given, if not in ``framework_info``.
    :param principal: with ``secret``, HTTP basic authentication of every request; also
        ``framework_info.principal`` when that is not set.
    :param implicit_acknowledgements: ACKNOWLEDGE every update carrying a uuid once
        ``statusUpdate`` returned; False: the framework calls ``acknowledge`` itself.
    :param timeout: seconds to connect, to get an answer to a call, to see SUBSCRIBED and
        to wait for the detector to name a leader.
    :param backoff_initial: the first wait before subscribing again, in seconds.
    :param backoff_max: the longest wait between attempts.
    :param missed_heartbeats: heartbeat intervals of silence after which the master is gone.
    """

    def __init__(self, scheduler: Scheduler, framework_info: Mapping[str, Any],
                 master: str | MasterDetector, *, framework_id: str | None = None,
                 principal: str | None = None, secret: str | None = None,
                 implicit_acknowledgements: bool = True, timeout: float = 20.0,
                 backoff_initial: float = 0.5, backoff_max: float = 10.0,
                 missed_heartbeats: int = 3) -> None:
        if timeout <= 0 or missed_heartbeats < 1:
            raise ValueError(f"the driver needs timeout > 0 and missed_heartbeats >= 1 "
                             f"(got {timeout}, {missed_heartbeats})")
        self._scheduler = scheduler
        self._framework_info = dict(framework_info)
        if principal and "principal" not in self._framework_info:
            self._framework_info["principal"] = principal
        self._framework_id = framework_id or (framework_info.get("id") or {}).get("value")
        # A master given as text is checked now and detected from start() on.
        self._master_spec = check_master(master) if isinstance(master, str) else None
        self._detector: MasterDetector | None = None if isinstance(master, str) else master
        self._auth = httpx.BasicAuth(principal, secret or "") if principal else None
        self._principal, self._secret = principal or None, secret or ""
        self._implicit_acks = implicit_acknowledgements
        self._timeout = timeout
        self._missed = missed_heartbeats
        self._backoff = Backoff(backoff_initial, backoff_max)

        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._calls: CallConnections | None = None
        self._streams: httpx.Client | None = None
        self._watchdog: SilenceWatchdog | None = None
        self._stream: EventStream | None = None
        self._stream_id: str | None = None
        self._silent = False  # the watchdog cut the stream
        self._connected = False
        self._master: str | None = None
        self._last_error: str | None = None
        self._registered_id: str | None = None  # ``registered`` was called for this id
        self._heartbeat = DEFAULT_HEARTBEAT_SECS
        self._warned: tuple[str, str | None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe from a thread of the driver's own; returns at once."""
        with self._lock:
            if self._thread is not None:
                raise MesosError("this Mesos scheduler driver was started already")
            if self._detector is None:
                assert self._master_spec is not None
                self._detector = detector_for(self._master_spec)
            headers = {"Accept": "application/json"}
            self._streams = httpx.Client(auth=self._auth, headers=headers)
            if self._principal is not None:  # what httpx.BasicAuth sends
                token = b64encode(f"{self._principal}:{self._secret}".encode())
                headers["Authorization"] = f"Basic {token}"
            self._calls = CallConnections(self._timeout, headers)
            self._watchdog = SilenceWatchdog(self._on_silence, name="mesos-scheduler-watchdog")
            self._thread = threading.Thread(target=self._run, name="mesos-scheduler-driver",
                                            daemon=True)
            self._thread.start()

    def stop(self, failover: bool = True) -> None:
        """Close the stream and end the thread. ``failover=False`` first sends TEARDOWN:
        Mesos then kills the framework's tasks and forgets it."""
        self._stopping.set()
        if not failover:
            try:
                self._post(*calls.teardown())
            except MesosError as e:
                log.warning("could not tear the framework down: %s", e)
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.cut()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end after ``stop()``; whether it has."""
        return join_driver_thread(self._thread, timeout)

    # -- state ----------------------------------------------------------------------------------

    @property
    def framework_id(self) -> str | None:
        with self._lock:
            return self._framework_id

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected

    @property
    def master(self) -> str | None:
        """The master subscribed to, or being tried."""
        with self._lock:
            return self._master

    @property
    def last_error(self) -> str | None:
        """Why the driver is not subscribed (one line), None once it is."""
        with self._lock:
            return self._last_error

    # -- calls ----------------------------------------------------------------------------------

    def launch(self, offer_ids: Sequence[str], tasks: Sequence[Mapping[str, Any]],
               filters: Mapping[str, Any] | None = None) -> None:
        """ACCEPT ``offer_ids`` with one LAUNCH of ``tasks`` (v1 ``TaskInfo`` JSON)."""
        self._call(calls.launch(offer_ids, tasks, filters))

    def accept(self, offer_ids: Sequence[str], operations: Sequence[Mapping[str, Any]],
               filters: Mapping[str, Any] | None = None) -> None:
        self._call(calls.accept(offer_ids, operations, filters))

    def decline(self, offer_ids: Sequence[str], filters: Mapping[str, Any] | None = None) -> None:
        self._call(calls.decline(offer_ids, filters))

    def revive(self, roles: Sequence[str] | None = None) -> None:
        self._call(calls.revive(roles))

    def suppress(self, roles: Sequence[str] | None = None) -> None:
        self._call(calls.suppress(roles))

    def kill(self, task_id: str, agent_id: str | None = None) -> None:
        self._call(calls.kill(task_id, agent_id))

    def acknowledge(self, status: Mapping[str, Any]) -> None:
        """ACKNOWLEDGE an update (ValueError for one without a uuid)."""
        self._call(calls.acknowledge(status))

    def reconcile(self, tasks: Sequence[Mapping[str, Any]]) -> None:
        """``[{"task_id": {"value": ..}, "agent_id": {"value": ..}}]``; [] = every task."""
        self._call(calls.reconcile(tasks))

    def message(self, agent_id: str, executor_id: str, data: bytes) -> None:
        self._call(calls.message(agent_id, executor_id, data))

    def teardown(self) -> None:
        """End the framework in Mesos (its tasks are killed); the stream then closes."""
        self._call(calls.teardown())

    def call_many(self, batch: Sequence[calls.Call]) -> list[CallError | None]:
        """Make several calls (``calls.kill(...)``, ``calls.acknowledge(...)``...) at once,
        pipelined in order on one connection, as Mesos's own scheduler library sends its
        calls; the master answers each in turn. One result per call: None when the master
        answered 202, else why not (the ``CallError`` the single call would raise)."""
        if self._stopping.is_set():
            return [NotSubscribed(f"cannot send {kind}: the Mesos driver is stopped")
                    for kind, _ in batch]
        return self._post_many(batch)

    def _call(self, call: calls.Call) -> None:
        if self._stopping.is_set():
            raise NotSubscribed(f"cannot send {call[0]}: the Mesos driver is stopped")
        self._post(*call)

    def _post(self, kind: str, body: dict[str, Any] | None) -> None:
        (error,) = self._post_many([(kind, body)])
        if error is not None:
            raise error

    def _post_many(self, batch: Sequence[calls.Call]) -> list[CallError | None]:
        with self._lock:
            client, leader, stream_id = self._calls, self._master, self._stream_id
            framework_id, connected = self._framework_id, self._connected
        if not connected or client is None or stream_id is None or framework_id is None:
            why = self._why_not()
            return [NotSubscribed(f"cannot send {kind}: not subscribed to a Mesos master "
                                  f"({why})") for kind, _ in batch]
        bodies = []
        for kind, body in batch:
            payload: dict[str, Any] = {"type": kind, "framework_id": calls.value(framework_id)}
            if body is not None:
                payload[kind.lower()] = body
            bodies.append(json_body(payload))
        try:
            answers = client.post_many(str(leader), API_PATH, bodies,
                                       {"Mesos-Stream-Id": stream_id})
        except RuntimeError:  # the connections are closed: the driver stopped meanwhile
            return [NotSubscribed(f"cannot send {kind}: the Mesos driver is stopped")
                    for kind, _ in batch]
        return [_outcome(kind, str(leader), answer)
                for (kind, _), answer in zip(batch, answers, strict=True)]

    def _why_not(self) -> str:
        if self._thread is None:
            return "the driver is not started"
        if self._stopping.is_set():
            return "the driver is stopped"
        return self.last_error or f"subscribing to {self.master or self._where()}"

    def _where(self) -> str:
        """The master as configured, for messages."""
        if self._master_spec is None:
            return str(self._detector)
        return without_credentials(self._master_spec)

    # -- the driver's thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    outcome = self._attempt()
                except Exception as e:  # a bug of ours: say so, and keep the framework going
                    log.exception("the Mesos scheduler driver failed")
                    outcome = _Failure("bug", f"the Mesos scheduler driver failed: {e}")
                if outcome is not None and not self._stopping.is_set():
                    self._fail(outcome)
                    self._stopping.wait(self._backoff.next())
        finally:
            with self._lock:
                self._connected = False
                self._stream_id = None
                calls_client, streams_client = self._calls, self._streams
            assert self._watchdog is not None
            self._watchdog.close()
            if calls_client is not None:
                calls_client.close()
            if streams_client is not None:
                streams_client.close()
            if self._master_spec is not None and self._detector is not None:
                self._detector.stop()  # made by start(); a detector given stays the caller's

    def _attempt(self) -> _Failure | None:
        leader = self._detect()
        if leader is None:
            return _Failure("no-leader", f"no leading Mesos master known in {self._where()}")
        for _ in range(MAX_REDIRECTS + 1):
            with self._lock:
                self._master = leader
            outcome = self._subscribe(leader)
            if not isinstance(outcome, _Redirect):
                return outcome
            log.info("Mesos master %s redirects to the leading master %s", leader,
                     outcome.address)
            leader = outcome.address
        return _Failure("redirect", f"Mesos masters keep redirecting (last to {leader})")

    def _detect(self) -> str | None:
        assert self._detector is not None
        leader = self._detector.current()
        deadline = time.monotonic() + self._timeout
        while leader is None and not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            leader = self._detector.wait_for_change(None, min(left, STOP_LATENCY_SECS))
        return leader

    def _subscribe(self, leader: str) -> _Failure | _Redirect | None:
        assert self._streams is not None
        body = calls.subscribe(self._framework_info, self.framework_id)
        # The read timeout only bounds a master that never answers: the watchdog, which
        # knows the real heartbeat interval, judges silence once the stream is open.
        read = self._timeout + self._missed * self._heartbeat
        request = self._streams.build_request(
            "POST", f"http://{leader}{API_PATH}", json=body,
            timeout=httpx.Timeout(self._timeout, read=read))
        try:
            response = self._streams.send(request, stream=True)
        except httpx.HTTPError as e:
            return _Failure("unreachable", f"cannot reach Mesos master {leader}: "
                                           f"{failure_reason(e)}")
        try:
            if response.status_code != 200:
                return self._refused(leader, response)
            stream_id = response.headers.get("Mesos-Stream-Id")
            if not stream_id:
                return _Failure("protocol", f"Mesos master {leader} answered SUBSCRIBE "
                                            "without a Mesos-Stream-Id")
            return self._read(leader, stream_id, EventStream(response))
        finally:
            response.close()

    def _refused(self, leader: str, response: httpx.Response) -> _Failure | _Redirect:
        status = response.status_code
        if status == 307:
            location = response.headers.get("Location")
            address = redirect_address(location)
            if address is None:
                return _Failure("redirect", f"Mesos master {leader} redirected SUBSCRIBE "
                                            f"to an unusable Location {location!r}")
            return _Redirect(address)
        try:
            text = _one_line(response.read().decode(errors="replace"))
        except httpx.HTTPError:
            text = ""
        if status == 503:
            return _Failure("unavailable", f"Mesos master {leader} cannot serve yet: "
                                           f"503 {text}".rstrip())
        message = f"Mesos master {leader} refused SUBSCRIBE: {status} {text}".rstrip()
        return _Failure("refused", message, notify=400 <= status < 500)

    def _read(self, leader: str, stream_id: str, stream: EventStream) -> _Failure | None:
        assert self._watchdog is not None
        with self._lock:
            if self._stopping.is_set():
                return None
            self._stream, self._stream_id, self._silent = stream, stream_id, False
        self._watchdog.arm(self._timeout)  # SUBSCRIBED must come this soon
        subscribed = False
        error: str | None = None
        try:
            for event in stream:
                self._watchdog.touch()
                kind = event.get("type")
                if kind == "SUBSCRIBED":
                    self._on_subscribed(leader, event.get("subscribed"))
                    subscribed = True
                elif kind == "ERROR":
                    error = str((event.get("error") or {}).get("message") or "no message")
                    self._on_error(f"Mesos master {leader} sent ERROR: {error}")
                elif subscribed:
                    self._dispatch(str(kind), event)
            ended = "closed the event stream"
        except RecordIOError as e:
            ended = f"sent a broken event stream ({e})"
        except _BadSubscribed as e:
            ended = f"sent a malformed SUBSCRIBED ({e})"
        except httpx.HTTPError as e:
            ended = f"broke the event stream ({failure_reason(e)})"
        finally:
            self._watchdog.disarm()
            with self._lock:
                was_connected, silent = self._connected, self._silent
                self._stream, self._stream_id, self._connected = None, None, False
        if self._stopping.is_set():
            return None
        if was_connected:
            self._safely("disconnected", lambda: self._scheduler.disconnected(self))
        if error is not None:
            # No reset: two schedulers failing each other over ("Framework failed over")
            # must slow down, not take turns at full rate.
            return _Failure("error", f"Mesos master {leader} sent ERROR: {error}")
        if subscribed:
            self._backoff.reset()
        if silent:
            ended = (f"went silent for {self._missed} heartbeat intervals "
                     f"({self._missed * self._heartbeat:g} s)" if subscribed
                     else f"sent no SUBSCRIBED within {self._timeout:g} s")
        return _Failure("stream", f"Mesos master {leader} {ended}")

    def _on_silence(self) -> None:
        with self._lock:
            stream, self._silent = self._stream, True
        if stream is not None:
            stream.cut()

    # -- events ---------------------------------------------------------------------------------

    def _on_subscribed(self, leader: str, subscribed: Any) -> None:
        assert self._watchdog is not None
        try:
            framework_id = str(subscribed["framework_id"]["value"])
            interval = float(subscribed.get("heartbeat_interval_seconds",
                                            DEFAULT_HEARTBEAT_SECS))
            master_info = dict(subscribed.get("master_info") or {})
        except (KeyError, TypeError, ValueError) as e:
            raise _BadSubscribed(f"no {e.args[0]}" if isinstance(e, KeyError)
                                 else str(e)) from e
        with self._lock:
            again = self._registered_id == framework_id
            self._registered_id = self._framework_id = framework_id
            self._connected, self._last_error, self._master = True, None, leader
            if interval > 0:
                self._heartbeat = interval
        self._warned = None
        if interval > 0:
            self._watchdog.arm(self._missed * interval)
        else:
            self._watchdog.disarm()
        log.info("%s Mesos master %s as framework %s",
                 "re-subscribed to" if again else "subscribed to", leader, framework_id)
        if again:
            self._safely("reregistered", lambda: self._scheduler.reregistered(self, master_info))
        else:
            self._safely("registered",
                         lambda: self._scheduler.registered(self, framework_id, master_info))

    def _on_error(self, message: str) -> None:
        """The master closes the stream after an ERROR; ``_fail`` then logs it once."""
        with self._lock:
            self._last_error = message
            master = self._master
        if self._warned != ("error", master):
            self._safely("error", lambda: self._scheduler.error(self, message))

    def _dispatch(self, kind: str, event: dict[str, Any]) -> None:
        s = self._scheduler
        try:
            if kind == "OFFERS":
                body = event.get("offers") or {}
                offers = list(body.get("offers") or [])  # inverse offers: not handled yet
                if offers:
                    self._safely("resourceOffers", lambda: s.resourceOffers(self, offers))
            elif kind == "RESCIND":
                offer_id = str(event["rescind"]["offer_id"]["value"])
                self._safely("offerRescinded", lambda: s.offerRescinded(self, offer_id))
            elif kind == "UPDATE":
                self._on_update(dict(event["update"]["status"]))
            elif kind == "MESSAGE":
                m = event["message"]
                executor, agent = str(m["executor_id"]["value"]), str(m["agent_id"]["value"])
                data = b64decode(m.get("data") or "", "MESSAGE data")
                self._safely("frameworkMessage",
                             lambda: s.frameworkMessage(self, executor, agent, data))
            elif kind == "FAILURE":
                self._on_failure(event["failure"])
            elif kind != "HEARTBEAT":
                log.debug("ignoring a %s event", kind)
        except (KeyError, TypeError, ValueError) as e:
            log.warning("ignoring a malformed %s event from Mesos master %s: %s", kind,
                        self.master, e)

    def _on_update(self, status: dict[str, Any]) -> None:
        handled = self._safely("statusUpdate",
                               lambda: self._scheduler.statusUpdate(self, status))
        if handled and self._implicit_acks and status.get("uuid"):
            try:
                self._post(*calls.acknowledge(status))
            except (MesosError, ValueError) as e:  # Mesos sends the update again
                log.warning("could not acknowledge an update: %s", e)

    def _on_failure(self, failure: dict[str, Any]) -> None:
        agent = str((failure.get("agent_id") or {}).get("value") or "")
        executor = (failure.get("executor_id") or {}).get("value")
        if executor:
            code = failure.get("status")
            status = int(code) if code is not None else None
            self._safely("executorLost",
                         lambda: self._scheduler.executorLost(self, str(executor), agent, status))
        elif agent:
            self._safely("slaveLost", lambda: self._scheduler.slaveLost(self, agent))

    def _safely(self, name: str, callback: Callable[[], None]) -> bool:
        """Run a callback; a failing one is logged and does not end the subscription."""
        try:
            callback()
        except Exception:
            log.exception("the framework's %s callback failed", name)
            return False
        return True

    def _fail(self, failure: _Failure) -> None:
        with self._lock:
            self._last_error = failure.message
            master = self._master
        if self._warned == (failure.kind, master):
            log.debug("%s; retrying", failure.message)
            return
        self._warned = (failure.kind, master)
        log.warning("%s; retrying", failure.message)
        if failure.notify:
            self._safely("error", lambda: self._scheduler.error(self, failure.message))


def _outcome(kind: str, leader: str, answer: tuple[int, str] | OSError) -> CallError | None:
    """What the master's answer (or its absence) to one call means."""
    if isinstance(answer, OSError):
        error = MasterUnreachable(f"cannot send {kind} to Mesos master {leader}: "
                                  f"{failure_reason(answer)}")
        error.__cause__ = answer
        return error
    status, text = answer
    if status == 202:
        return None
    text = _one_line(text)
    return CallRejected(f"Mesos master {leader} refused {kind}: {status} {text}".rstrip(),
                        status, text)


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]
