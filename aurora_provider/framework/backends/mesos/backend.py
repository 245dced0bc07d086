"""The Mesos backend: the scheduler as a Mesos framework, through the v1 scheduler driver.

The driver's callbacks run on its thread and only queue (and wake the scheduling loop);
everything else happens in the round, through the ``Backend`` methods:

* ``offers()`` (called when tasks are pending) gives the held offers, one per agent, and
  revives offers if they were suppressed; ``launch`` accepts an agent's offers with its
  tasks; offers are held ``offer_hold_secs`` for the next pending tasks, then declined with
  a filter, and once nothing was pending for as long offers are suppressed.
* ``poll()`` turns the queued status updates into the scheduler's states (Aurora's mapping,
  ``status.py``), acknowledges the updates of the previous poll (which the round has
  persisted by now), reconciles after every (re)subscription and periodically, re-sends
  unanswered kills and ends partitions the job's PartitionPolicy no longer waits for.

Calls leave from two lanes (``_Lane``), each a thread sending what was queued meanwhile as
one pipelined batch: launches, kills and the offer calls (in order), and acknowledgements
and reconciliation.

The framework id is stored when Mesos first gives it, so a restarted scheduler fails over
(re-subscribes with it) and keeps its tasks.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aurora_provider.framework.backends.base import Launch, LogRead, StatusUpdate, XcomRead
from aurora_provider.framework.backends.mesos import resources, status
from aurora_provider.framework.backends.mesos.sandboxes import SandboxLogs
from aurora_provider.framework.backends.mesos.settings import MesosSettings
from aurora_provider.framework.placement.offers import Offer
from aurora_provider.framework.storage.scheduler_state import (
    FRAMEWORK_ID,
    SchedulerStateRepository,
)
from aurora_provider.mesos import calls
from aurora_provider.mesos.errors import NotSubscribed
from aurora_provider.mesos.scheduler import MesosSchedulerDriver
from aurora_provider.states.task import TERMINAL, TaskState

log = logging.getLogger(__name__)
S = TaskState
# Where this many recent tasks ran is remembered (kills, reconciliation, and reading logs
# after a task ended); a kill or reconciliation of a task forgotten goes without its agent,
# which Mesos accepts.
KEEP_LOCATIONS = 50_000


@dataclass(frozen=True)
class PartitionPolicy:
    reschedule: bool = True
    delay_secs: float = 0.0

    @classmethod
    def of(cls, launch: Launch) -> PartitionPolicy:
        """The job's policy (Aurora's defaults when it sets none, or when a custom executor
        runs it: its data is not the job)."""
        if launch.config.task.is_custom_executor:
            return cls()
        try:
            policy = json.loads(launch.config.task.executor_data).get("partition_policy")
        except (ValueError, AttributeError):
            policy = None
        if not isinstance(policy, dict):
            return cls()
        return cls(bool(policy.get("reschedule", True)), float(policy.get("delay_secs", 0)))


@dataclass
class _Held:
    offer: dict[str, Any]
    received: float
    shown: bool = False  # given to a round that did not use it
    polls: int = 0  # rounds it has been held through


class _Events:
    """What the driver's thread hands to the round (the callbacks only append here)."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self.lock = threading.Lock()
        self.statuses: list[dict[str, Any]] = []
        self.offers: list[dict[str, Any]] = []
        self.rescinded: list[str] = []
        self.lost_agents: list[str] = []
        self.subscribed = 0  # (re)subscriptions not yet reconciled
        self.new_stream = False  # offers of an earlier subscription are void
        self.wake = wake


class _Callbacks:
    """The driver's callbacks (pymesos's vocabulary): thin, they queue and wake."""

    def __init__(self, events: _Events, store_framework_id: Callable[[str], None]) -> None:
        self._events = events
        self._store_framework_id = store_framework_id

    def _queue(self, action: Callable[[_Events], None]) -> None:
        with self._events.lock:
            action(self._events)
        self._events.wake()

    def _subscribed(self, events: _Events) -> None:
        events.subscribed += 1
        events.new_stream = True
        events.offers.clear()

    def registered(self, driver: Any, framework_id: str, master: dict[str, Any]) -> None:
        self._store_framework_id(framework_id)
        log.info("registered with Mesos as framework %s", framework_id)
        self._queue(self._subscribed)

    def reregistered(self, driver: Any, master: dict[str, Any]) -> None:
        log.info("re-registered with Mesos")
        self._queue(self._subscribed)

    def disconnected(self, driver: Any) -> None:
        log.warning("disconnected from the Mesos master")

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        self._queue(lambda e: e.offers.extend(offers))

    def offerRescinded(self, driver: Any, offer_id: str) -> None:
        self._queue(lambda e: e.rescinded.append(offer_id))

    def statusUpdate(self, driver: Any, update: dict[str, Any]) -> None:
        self._queue(lambda e: e.statuses.append(update))

    def frameworkMessage(self, driver: Any, executor_id: str, agent_id: str,
                         data: bytes) -> None:
        log.info("message from executor %s on %s: %r", executor_id, agent_id, data[:200])

    def slaveLost(self, driver: Any, agent_id: str) -> None:
        log.warning("Mesos agent %s lost", agent_id)
        self._queue(lambda e: e.lost_agents.append(agent_id))

    def executorLost(self, driver: Any, executor_id: str, agent_id: str,
                     code: int | None) -> None:
        log.info("executor %s on %s ended (status %s)", executor_id, agent_id, code)

    def error(self, driver: Any, message: str) -> None:
        log.error("Mesos: %s", message)


Done = Callable[[Exception | None], None]
# The most calls one pipelined write carries: a lane with more queued sends again at once.
MAX_BATCH = 1000


class _Lane:
    """Calls that leave from a thread of their own, in the order they were queued: each time
    the thread wakes it sends all that was queued meanwhile as one pipelined batch
    (``call_many``), so a round never waits on the master, and the thousands of calls of a
    large job (an ACKNOWLEDGE per update, a KILL per task) are a few writes, not thousands
    of round trips. One thread keeps the order: DECLINE, SUPPRESS and REVIVE may share a
    lane. ``inline``: each call is sent at once, on the caller's thread (for tests)."""

    def __init__(self, name: str, send: Callable[[list[calls.Call]], list[Exception | None]],
                 *, inline: bool = False) -> None:
        self._send_batch = send
        self._queue: queue.SimpleQueue[tuple[calls.Call, Done | None] | None] = \
            queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        if not inline:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def send(self, call: calls.Call, done: Done | None = None) -> None:
        """Queue ``call``; ``done`` is told its error (None: the master took it) once sent."""
        if self._thread is None:
            self._flush([(call, done)])
            return
        self._queue.put((call, done))

    def stop(self) -> None:
        """Send what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        ending = False
        while not ending:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    ending = True
                    break
                batch.append(item)
            try:
                self._flush(batch)
            except Exception:  # a bug of ours: keep the lane going
                log.exception("sending %d Mesos call(s) failed", len(batch))

    def _flush(self, batch: list[tuple[calls.Call, Done | None]]) -> None:
        try:
            errors = self._send_batch([call for call, _ in batch])
        except Exception as e:  # a bug of ours: every call of the batch failed
            log.exception("sending %d Mesos call(s) failed", len(batch))
            errors = [e] * len(batch)
        failed: dict[str, list[Exception]] = defaultdict(list)
        for (call, done), error in zip(batch, errors, strict=True):
            if error is not None:
                failed[call[0]].append(error)
            if done is not None:
                try:
                    done(error)
                except Exception:
                    log.exception("handling the answer to a Mesos %s failed", call[0])
        for kind, found in failed.items():
            # The driver logs being unsubscribed once; calls sent meanwhile need not each.
            level = (logging.DEBUG if all(isinstance(e, NotSubscribed) for e in found)
                     else logging.WARNING)
            log.log(level, "Mesos %s failed%s: %s", kind,
                    f" ({len(found)} calls)" if len(found) > 1 else "", found[0])


class MesosBackend:
    name = "mesos"

    def __init__(self, settings: MesosSettings, state: SchedulerStateRepository, *,
                 clock: Callable[[], float] = time.time,
                 driver_factory: Callable[..., Any] = MesosSchedulerDriver,
                 send_inline: bool = False) -> None:
        """:param send_inline: make every call on the caller's thread (for tests: the
        calls are then made when the round makes them)."""
        self.settings = settings
        self._state = state
        self._clock = clock
        self._driver_factory = driver_factory
        self._send_inline = send_inline
        self._wake: Callable[[], None] = lambda: None
        self._events = _Events(lambda: self._wake())
        self._driver: Any = None
        # Launches, kills and the offer calls, never queued behind the background's calls.
        self._urgent: _Lane | None = None
        self._background: _Lane | None = None  # acknowledgements, reconciliation
        self._held: dict[str, _Held] = {}  # offer id -> offer
        self._wanted = False  # a round asked for offers since the last poll
        self._last_wanted = float("-inf")  # when a round last did
        self._suppressed = False
        # Offers were declined (with a filter) while nothing was pending: new work revives.
        self._declined_idle = False
        self._tasks: dict[str, Launch] = {}  # launched and not terminal
        self._kills: dict[str, float] = {}  # task id -> when the kill was last sent
        self._partitioned: dict[str, float] = {}  # task id -> when it becomes LOST
        self._to_ack: list[dict[str, Any]] = []
        self._reports: deque[StatusUpdate] = deque()
        self._last_reconcile = 0.0
        # task id -> agent id, as the launch or Mesos last said; the oldest forgotten first
        self._locations: OrderedDict[str, str] = OrderedDict()
        self._logs: SandboxLogs | None = None
        self._lock = threading.RLock()

    # -- the scheduler's side ---------------------------------------------------------------

    def on_event(self, wake: Callable[[], None]) -> None:
        """Wake the scheduling loop when Mesos sends something (offers, updates)."""
        self._wake = wake

    def start(self) -> None:
        framework_id = self._state.get(FRAMEWORK_ID)
        info = self._framework_info(framework_id)
        self._urgent = _Lane("mesos-urgent-calls", self._send_batch, inline=self._send_inline)
        self._background = _Lane("mesos-background-calls", self._send_batch,
                                 inline=self._send_inline)
        self._logs = SandboxLogs(lambda: self._driver.master if self._driver else None)
        self._driver = self._driver_factory(
            _Callbacks(self._events, self._remember_framework_id), info, self.settings.master,
            principal=self.settings.principal, secret=self.settings.secret,
            implicit_acknowledgements=False)
        log.info("subscribing to Mesos at %s as %s", self.settings.master,
                 f"framework {framework_id}" if framework_id else "a new framework")
        self._driver.start()

    def stop(self) -> None:
        """Stop watching: the framework fails over (its tasks keep running). What is queued
        is sent first (acknowledgements of persisted updates, kills)."""
        for lane in (self._urgent, self._background):
            if lane is not None:
                lane.stop()
        self._urgent = self._background = None
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.stop(failover=True)
            driver.join(10)
        logs, self._logs = self._logs, None
        if logs is not None:
            logs.close()

    def problem(self) -> str | None:
        """Why the backend cannot serve yet (None when subscribed)."""
        driver = self._driver
        if driver is None:
            return "the Mesos driver is not started"
        if driver.connected:
            return None
        return str(driver.last_error or f"not subscribed to the Mesos master at "
                   f"{self.settings.master} yet")

    def _framework_info(self, framework_id: str | None) -> dict[str, Any]:
        s = self.settings
        info: dict[str, Any] = {
            "user": s.user, "name": s.framework_name, "checkpoint": True,
            "failover_timeout": s.failover_timeout_secs,
            # Aurora handles TASK_UNREACHABLE (PARTITIONED) itself, by PartitionPolicy.
            "capabilities": [{"type": "PARTITION_AWARE"}],
        }
        if framework_id:
            info["id"] = {"value": framework_id}
        if s.role:
            info["roles"] = [s.role]
            info["capabilities"].append({"type": "MULTI_ROLE"})
        if s.principal:
            info["principal"] = s.principal
        if s.hostname:
            info["hostname"] = s.hostname
        if s.webui_url:
            info["webui_url"] = s.webui_url
        return info

    def _remember_framework_id(self, framework_id: str) -> None:
        if self._state.get(FRAMEWORK_ID) != framework_id:
            self._state.put(FRAMEWORK_ID, framework_id, self._clock())

    @property
    def framework_id(self) -> str | None:
        driver = self._driver
        value = driver.framework_id if driver is not None else None
        return str(value) if value else self._state.get(FRAMEWORK_ID)

    # -- offers -------------------------------------------------------------------------------

    def offers(self) -> list[Offer]:
        with self._lock:
            self._take_events_offers()
            self._wanted = True
            self._last_wanted = self._clock()
            if self._suppressed or self._declined_idle:
                self._send(calls.revive(), urgent=True)
                self._suppressed = self._declined_idle = False
            by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for held in self._held.values():
                held.shown = True
                by_agent[str(held.offer["agent_id"]["value"])].append(held.offer)
            return [resources.agent_offer(agent, offers) for agent, offers in by_agent.items()]

    def _take_events_offers(self) -> None:
        events = self._events
        with events.lock:
            offers, events.offers = events.offers, []
            rescinded, events.rescinded = events.rescinded, []
            lost, events.lost_agents = events.lost_agents, []
            new_stream, events.new_stream = events.new_stream, False
        if new_stream:
            self._held.clear()
        now = self._clock()
        for offer in offers:
            self._held[str(offer["id"]["value"])] = _Held(offer, now)
            if self._logs is not None:
                self._logs.learn_agent(str(offer["agent_id"]["value"]), offer.get("url"))
        for offer_id in rescinded:
            self._held.pop(offer_id, None)
        for agent in lost:
            for offer_id in [o for o, h in self._held.items()
                             if h.offer["agent_id"]["value"] == agent]:
                del self._held[offer_id]

    def _release_unused(self) -> None:
        """Decline the offers held long enough that a round saw and could not use, or that
        no round wanted (nothing pending) since the last poll; suppress offers once nothing
        was pending for as long. Until declined, held offers serve the next pending tasks at
        once (the next batch of an update), with no REVIVE and no new offers to wait for."""
        now = self._clock()
        hold = self.settings.offer_hold_secs
        for held in self._held.values():
            held.polls += 1
        stale = [o for o, h in self._held.items() if now - h.received >= hold
                 and (h.shown or (not self._wanted and h.polls > 1))]
        if stale:
            for offer_id in stale:
                del self._held[offer_id]
            refuse = self.settings.offer_filter_secs
            # In order with SUPPRESS and REVIVE (one lane): a REVIVE must clear this
            # decline's filter.
            self._send(calls.decline(stale, {"refuse_seconds": refuse}), urgent=True)
            self._declined_idle |= not self._wanted
        if (not self._wanted and not self._suppressed and now - self._last_wanted >= hold
                and self._connected()):
            self._suppressed = True
            self._send(calls.suppress(), urgent=True)
        self._wanted = False

    # -- launching and killing ----------------------------------------------------------------

    def launch(self, launches: Sequence[Launch]) -> None:
        by_agent: dict[str, list[Launch]] = defaultdict(list)
        with self._lock:
            for launch in launches:
                if self._executor_known(launch):
                    by_agent[launch.agent_id].append(launch)
            framework_id = self.framework_id or ""
            for agent_id, agent_launches in by_agent.items():
                offer_ids = [o for o, h in self._held.items()
                             if h.offer["agent_id"]["value"] == agent_id]
                if not offer_ids:
                    for launch in agent_launches:
                        self._report(launch.task_id, S.LOST, "The agent's offer was "
                                     "rescinded before the task could be launched")
                    continue
                offers = [self._held.pop(o).offer for o in offer_ids]
                role = resources.offer_role(offers)
                infos = [resources.task_info(
                    launch, framework_id=framework_id, role=role,
                    executor_command=self.settings.executor_command,
                    executor_name=self.settings.executor_name,
                    executor_uris=self.settings.executor_uris,
                    custom=self.settings.custom_executors.get(
                        launch.config.task.executor_name),
                    announcer_ensemble=self.settings.announcer_ensemble,
                    announcer_zk_path_prefix=self.settings.announcer_zk_path_prefix)
                    for launch in agent_launches]
                for launch in agent_launches:
                    self._tasks[launch.task_id] = launch
                    self._locate(launch.task_id, agent_id)
                # What the launch leaves of the offers comes back at once: the next task
                # may want it (a filter here would hold the agent back for its length).
                self._send_launch(offer_ids, infos, {"refuse_seconds": 0}, agent_launches)

    def _send_launch(self, offer_ids: list[str], infos: list[dict[str, Any]],
                     filters: dict[str, Any], launches: list[Launch]) -> None:
        def sent(error: Exception | None) -> None:
            if error is None:
                return
            with self._lock:  # never reached Mesos: the round runs them elsewhere
                for launch in launches:
                    self._tasks.pop(launch.task_id, None)
                    self._report(launch.task_id, S.LOST,
                                 "The launch could not be sent to the Mesos master")
            self._wake()

        self._send(calls.launch(offer_ids, infos, filters), sent, urgent=True)

    def kill(self, task_ids: Sequence[str]) -> None:
        with self._lock:
            now = self._clock()
            for task_id in task_ids:
                self._kills[task_id] = now
                self._send(calls.kill(task_id, self._locations.get(task_id)), urgent=True)

    def _retry_kills(self, now: float, everything: bool) -> None:
        for task_id, sent in list(self._kills.items()):
            if everything or now - sent >= self.settings.kill_retry_secs:
                self._kills[task_id] = now
                self._send(calls.kill(task_id, self._locations.get(task_id)), urgent=True)

    # -- observing ----------------------------------------------------------------------------

    def poll(self) -> list[StatusUpdate]:
        with self._lock:
            # The previous poll's updates are persisted by now: Mesos may forget them.
            acks, self._to_ack = self._to_ack, []
            for update in acks:
                try:
                    self._send(calls.acknowledge(update))
                except ValueError as e:  # no agent to name: Mesos sends it again
                    log.warning("cannot acknowledge an update: %s", e)
            self._take_events_offers()
            self._release_unused()
            events = self._events
            with events.lock:
                statuses, events.statuses = events.statuses, []
                subscribed, events.subscribed = events.subscribed, 0
            now = self._clock()
            for update in statuses:
                self._observe(update, now)
            if subscribed:
                self._reconcile(now)
                self._retry_kills(now, everything=True)
            else:
                if now - self._last_reconcile >= self.settings.reconcile_interval_secs:
                    self._reconcile(now)
                self._retry_kills(now, everything=False)
            self._end_partitions(now)
            reports = list(self._reports)
            self._reports.clear()
            return reports

    def _observe(self, update: dict[str, Any], now: float) -> None:
        if update.get("uuid"):
            self._to_ack.append(update)
        task_id = status.task_id(update)
        agent = status.agent_id(update)
        if agent:
            self._locate(task_id, agent)
        state = status.task_state(update)
        if state is None:
            return
        if state is S.PARTITIONED:
            launch = self._tasks.get(task_id)
            policy = PartitionPolicy.of(launch) if launch is not None else PartitionPolicy()
            if policy.reschedule:
                self._partitioned.setdefault(task_id, now + policy.delay_secs)
            else:
                self._partitioned.pop(task_id, None)
        else:
            self._partitioned.pop(task_id, None)
        if state in TERMINAL:
            self._tasks.pop(task_id, None)
            self._kills.pop(task_id, None)
        self._report(task_id, state, status.message(update))

    def _locate(self, task_id: str, agent_id: str) -> None:
        self._locations[task_id] = agent_id
        self._locations.move_to_end(task_id)
        while len(self._locations) > KEEP_LOCATIONS:
            self._locations.popitem(last=False)

    def _end_partitions(self, now: float) -> None:
        for task_id, due in list(self._partitioned.items()):
            if due <= now:
                del self._partitioned[task_id]
                self._report(task_id, S.LOST, "Task partitioned for longer than its "
                             "PartitionPolicy waits")

    def _executor_known(self, launch: Launch) -> bool:
        """A job admitted under a custom executor that a restart's --custom-executor-config
        no longer lists fails, never runs under ours with data that is not a job."""
        name = launch.config.task.executor_name
        if not launch.config.task.is_custom_executor or name in self.settings.custom_executors:
            return True
        self._report(launch.task_id, S.FAILED, f"executor {name!r} is not configured on this "
                     "scheduler (--custom-executor-config)")
        return False

    def _report(self, task_id: str, state: TaskState, message: str | None) -> None:
        self._reports.append(StatusUpdate(task_id, state, message))

    # -- recovery -----------------------------------------------------------------------------

    def reconcile(self, running: Sequence[Launch]) -> list[StatusUpdate]:
        """After a scheduler start: remember the launched tasks; Mesos tells their states
        once subscribed (explicit reconciliation), and about the ones we do not know
        (implicit reconciliation), which the core then kills."""
        with self._lock:
            for launch in running:
                self._tasks[launch.task_id] = launch
                if launch.agent_id and launch.task_id not in self._locations:
                    self._locate(launch.task_id, launch.agent_id)
            if self._connected():
                self._reconcile(self._clock())
        return []

    def _reconcile(self, now: float) -> None:
        self._last_reconcile = now
        known = [{"task_id": {"value": t}, **({"agent_id": {"value": self._locations[t]}}
                                              if t in self._locations else {})}
                 for t in self._tasks]
        if known:
            self._send(calls.reconcile(known))
        self._send(calls.reconcile([]))

    # -- logs (the backend's LogSource) -------------------------------------------------------

    def task_logs(self, task_id: str) -> dict[str, Any] | None:
        logs, agent = self._logs, self._locations.get(task_id)
        return logs.task_logs(task_id, agent) if logs is not None else None

    def task_log(self, task_id: str, process: str, run: int, stream: str,
                 tail_bytes: int) -> str | None:
        logs, agent = self._logs, self._locations.get(task_id)
        if logs is None:
            return None
        return logs.task_log(task_id, agent, process, run, stream, tail_bytes)

    def read_task_log(self, task_id: str, process: str, run: int, stream: str,
                      offset: int, limit: int) -> LogRead | None:
        logs, agent = self._logs, self._locations.get(task_id)
        if logs is None:
            return None
        return logs.read_task_log(task_id, agent, process, run, stream, offset, limit)

    def read_xcom(self, task_id: str, limit: int) -> XcomRead | None:
        logs, agent = self._logs, self._locations.get(task_id)
        return logs.read_xcom(task_id, agent, limit) if logs is not None else None

    # -- sending ------------------------------------------------------------------------------

    def _connected(self) -> bool:
        return self._driver is not None and bool(self._driver.connected)

    def _send_batch(self, batch: list[calls.Call]) -> list[Exception | None]:
        driver = self._driver
        if driver is None:
            return [NotSubscribed(f"cannot send {kind}: the Mesos driver is stopped")
                    for kind, _ in batch]
        return list(driver.call_many(batch))

    def _send(self, call: calls.Call, done: Done | None = None, *,
              urgent: bool = False) -> None:
        """A call that leaves from a lane's thread: with the launches when ``urgent``
        (kills, the offer calls), else in the background (acknowledgements,
        reconciliation)."""
        lane = self._urgent if urgent else self._background
        if lane is None:
            if done is not None:
                done(NotSubscribed(f"cannot send {call[0]}: the Mesos backend is stopped"))
            return
        lane.send(call, done)
