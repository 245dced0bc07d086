"""The test Mesos master: frameworks, agents, tasks and status updates, as Mesos 1.11's.

Everything here runs on the master's own loop (``actor.py``). The scheduler API's HTTP
checks live in ``master_http.py``, its calls in ``calls.py``, offers in ``allocator.py``.
A master leads only when its detector says so (``on_detected``); a newly elected master
"recovers" for ``recovery_period`` (503s) and learns tasks from re-registering agents.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.mesos_cluster import schema, validation, wire
from tests.mesos_cluster.actor import Actor, EventStream
from tests.mesos_cluster.allocator import Allocator
from tests.mesos_cluster.links import MasterLink
from tests.mesos_cluster.master_state import (
    AgentRecord,
    Framework,
    Offer,
    RecordedCall,
    Registry,
    Task,
    summary_of_task,
)
from tests.mesos_cluster.resources import Resources
from tests.mesos_cluster.wire import Json, Update
from tests.mesos_cluster.zk import Contender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MasterConfig:
    heartbeat_interval: float = 15.0
    allocation_interval: float = 1.0  # Mesos's --allocation_interval
    recovery_period: float = 0.0  # how long a new leader answers 503
    credentials: tuple[str, str] | None = None  # HTTP basic principal, secret
    agent_reregister_timeout: float = 600.0
    validate_events: bool = True  # check every event sent against the v1 schema


class Master:
    def __init__(self, name: str, config: MasterConfig, registry: Registry,
                 errors: list[str], calls: list[RecordedCall], port: int = 0,
                 actor: Actor | None = None) -> None:
        """:param actor: where the master runs (default: a loop of its own)."""
        from tests.mesos_cluster.calls import SchedulerCalls
        from tests.mesos_cluster.master_agents import AgentMessages
        from tests.mesos_cluster.master_http import master_server

        self.name = name
        self.config = config
        self.registry = registry
        self.calls = calls
        self.id = str(uuidlib.uuid4())
        self.actor = actor or Actor(name, errors)
        self.http = master_server(self, port)
        self.scheduler_calls = SchedulerCalls(self)
        self.from_agents = AgentMessages(self)
        self.allocator = Allocator(self)
        self.alive = False
        self.elected = False
        self.recovered = False
        self.leader: Json | None = None  # MasterInfo of the leader, as detected
        self.frameworks: dict[str, Framework] = {}
        self.completed: dict[str, Framework] = {}
        self.agents: dict[str, AgentRecord] = {}
        self.removed_agents: set[str] = set()
        self.recovering_agents: set[str] = set()  # admitted by a previous leader
        self.offers: dict[str, Offer] = {}
        self._next_framework = 0
        self._next_offer = 0
        self._link = MasterLink(self, self.actor)
        self.contender: Contender | None = None  # its place in the election, once it runs

    # -- lifetime ------------------------------------------------------------------------

    def start(self) -> None:
        self.actor.start()
        self.http.start()
        self.alive = True
        self.actor.post(self._allocate)

    def stop(self, abort: bool = True) -> None:
        """The master goes: it leaves the election (its znode with it) and stops serving;
        ``abort`` drops its connections as its death would."""
        if not self.alive:
            return
        contender, self.contender = self.contender, None
        if contender is not None:
            contender.withdraw()
        self.actor.call(self._die)
        self.http.stop(abort=abort)
        self.actor.stop()

    def _die(self) -> None:
        self.alive = False
        self.elected = False
        for framework in self.frameworks.values():
            if framework.heartbeat is not None:
                framework.heartbeat.cancel()

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def link(self) -> MasterLink:
        return self._link

    def info(self) -> Json:
        """This master's MasterInfo (as in SUBSCRIBED and its ZooKeeper znode)."""
        return {
            "id": self.id, "ip": wire.ip_uint32("127.0.0.1"), "port": self.port,
            "pid": f"master@127.0.0.1:{self.port}", "hostname": "127.0.0.1",
            "version": wire.VERSION,
            "address": {"hostname": "127.0.0.1", "ip": "127.0.0.1", "port": self.port},
            "capabilities": [{"type": "AGENT_UPDATE"}, {"type": "AGENT_DRAINING"},
                             {"type": "QUOTA_V2"}],
        }

    # -- leadership ----------------------------------------------------------------------

    def on_detected(self, leader: Json | None) -> None:
        """The detector's news: who leads now (``None``: nobody)."""
        if not self.alive:
            return
        self.leader = leader
        leading = leader is not None and leader.get("id") == self.id
        if leading and not self.elected:
            self._elected()
        elif not leading and self.elected:
            log.info("%s no longer leads", self.name)
            self.elected = False

    def _elected(self) -> None:
        log.info("%s elected leader", self.name)
        self.elected = True
        self.recovered = False
        self.recovering_agents = set(self.registry.admitted()) - set(self.agents)
        if self.recovering_agents:
            self.actor.later(self.config.agent_reregister_timeout,
                             self._reregister_timeout)
        self.actor.later(self.config.recovery_period, self._recovery_done)

    def _recovery_done(self) -> None:
        self.recovered = True

    def _reregister_timeout(self) -> None:
        for agent_id in sorted(self.recovering_agents):
            log.warning("agent %s did not re-register: unreachable", agent_id)
            self.registry.mark_unreachable(agent_id, wire.now())
            self.send_all({"type": "FAILURE", "failure": {"agent_id": wire.wrap(agent_id)}})
        self.recovering_agents.clear()

    def serving(self) -> bool:
        return self.alive and self.elected

    # -- frameworks ----------------------------------------------------------------------

    def subscribe(self, info: Json, suppressed_roles: list[str], principal: str | None,
                  stream: EventStream, stream_id: str) -> None:
        """A framework's SUBSCRIBE (the HTTP layer has answered 200 with ``stream``)."""
        if principal and "principal" not in info:
            info["principal"] = principal
        problem = validation.framework_error(info, self.completed)
        if problem:
            log.info("refusing subscription of %r: %s", info.get("name"), problem)
            stream.send({"type": "ERROR", "error": {"message": problem}})
            stream.close()
            return
        fid = wire.value(info.get("id"))
        if not fid:
            fid = f"{self.id}-{self._next_framework:04d}"
            self._next_framework += 1
            info["id"] = wire.wrap(fid)
            framework = Framework(fid, info, principal=info.get("principal"))
            self.frameworks[fid] = framework
        else:
            framework = self.frameworks.get(fid) or self.recover_framework(info)
            self._update_info(framework, info)
            if framework.connected and framework.stream is not None:
                framework.stream.send({"type": "ERROR",
                                       "error": {"message": "Framework failed over"}})
                framework.stream.close()
            for offer_id in list(framework.offers):
                self.discard_offer(self.offers[offer_id])
        framework.suppressed = set(suppressed_roles)
        framework.stream, framework.stream_id = stream, stream_id
        framework.connected = framework.active = True
        framework.recovered = False
        framework.reregistered_time = time.monotonic()
        self._send(framework, {"type": "SUBSCRIBED", "subscribed": {
            "framework_id": wire.wrap(fid),
            "heartbeat_interval_seconds": self.config.heartbeat_interval,
            "master_info": self.info()}})
        self._schedule_heartbeat(framework)
        for agent in self.agents.values():
            if agent.connected and fid in agent.executors:
                agent.link.update_framework(framework.info)

    def _update_info(self, framework: Framework, info: Json) -> None:
        # As Mesos's preserveImmutableFields: a re-subscription cannot change these.
        for immutable in ("principal", "user", "checkpoint"):
            if immutable in framework.info:
                info[immutable] = framework.info[immutable]
            else:
                info.pop(immutable, None)
        framework.info = info

    def recover_framework(self, info: Json) -> Framework:
        """A framework known only from an agent's report (after a master failover)."""
        fid = wire.value(info["id"])
        framework = Framework(fid, info, principal=info.get("principal"), recovered=True)
        self.frameworks[fid] = framework
        return framework

    def stream_closed(self, stream: EventStream) -> None:
        """A subscription connection ended (the framework's side or ours)."""
        if not self.alive:
            return
        framework = next((f for f in self.frameworks.values() if f.stream is stream), None)
        if framework is None:
            return
        log.info("framework %s disconnected", framework.id)
        self.disconnect(framework)
        self.actor.later(framework.failover_timeout, self._failover_timeout, framework.id,
                         framework.reregistered_time)

    def disconnect(self, framework: Framework) -> None:
        framework.connected = framework.active = False
        framework.stream = None
        if framework.heartbeat is not None:
            framework.heartbeat.cancel()
            framework.heartbeat = None
        for offer_id in list(framework.offers):
            self.rescind_offer(self.offers[offer_id])

    def _failover_timeout(self, framework_id: str, reregistered: float) -> None:
        framework = self.frameworks.get(framework_id)
        if (framework is not None and not framework.connected
                and framework.reregistered_time == reregistered):
            log.info("framework %s failover timeout: removing it", framework_id)
            self.remove_framework(framework)

    def remove_framework(self, framework: Framework) -> None:
        """TEARDOWN or a failover timeout: its tasks are killed, it is gone for good."""
        if framework.connected and framework.stream is not None:
            framework.stream.close()
        self.disconnect(framework)
        for offer_id in list(framework.offers):
            self.discard_offer(self.offers[offer_id])
        for agent in self.agents.values():
            agent.link.shutdown_framework(framework.id)
        message = f"Framework {framework.id} removed"
        for task in list(framework.tasks.values()):
            update = Update(framework.id, wire.task_status(
                task.id, "TASK_KILLED", "SOURCE_MASTER", message=message,
                reason="REASON_FRAMEWORK_REMOVED", agent_id=task.agent_id,
                executor_id=task.executor_id))
            self.update_task(task, update)
            self.remove_task(task)
        for agent in self.agents.values():
            for executor_id in list(agent.executors.get(framework.id, {})):
                self.remove_executor(agent, framework.id, executor_id)
        del self.frameworks[framework.id]
        self.completed[framework.id] = framework

    def _schedule_heartbeat(self, framework: Framework) -> None:
        if framework.heartbeat is not None:
            framework.heartbeat.cancel()
        framework.heartbeat = self.actor.later(self.config.heartbeat_interval,
                                               self._heartbeat, framework)

    def _heartbeat(self, framework: Framework) -> None:
        framework.heartbeat = None
        if framework.connected and self.alive:
            self._send(framework, {"type": "HEARTBEAT"})
            self._schedule_heartbeat(framework)

    def _send(self, framework: Framework, event: Json) -> None:
        if self.config.validate_events:
            schema.check("scheduler.Event", event, "event")
        framework.send(event)

    def send_all(self, event: Json) -> None:
        for framework in self.frameworks.values():
            self._send(framework, event)

    def send(self, framework: Framework, event: Json) -> None:
        self._send(framework, event)

    # -- offers --------------------------------------------------------------------------

    def _allocate(self) -> None:
        if not self.alive:
            return
        if self.serving() and self.recovered:
            self.allocator.cycle()
        self.actor.later(self.config.allocation_interval, self._allocate)

    def new_offer(self, framework: Framework, agent: AgentRecord, role: str,
                  resources: Resources) -> Offer:
        offer = Offer(f"{self.id}-O{self._next_offer}", framework.id, agent.id, role,
                      resources)
        self._next_offer += 1
        self.offers[offer.id] = offer
        framework.offers.add(offer.id)
        agent.offers.add(offer.id)
        agent.offered = agent.offered + resources
        return offer

    def _drop_offer(self, offer: Offer) -> None:
        self.offers.pop(offer.id, None)
        framework = self.frameworks.get(offer.framework_id)
        if framework is not None:
            framework.offers.discard(offer.id)
        agent = self.agents.get(offer.agent_id)
        if agent is not None:
            agent.offers.discard(offer.id)
            agent.offered = agent.offered - offer.resources

    def rescind_offer(self, offer: Offer) -> None:
        framework = self.frameworks.get(offer.framework_id)
        if framework is not None:
            self._send(framework, {"type": "RESCIND",
                                   "rescind": {"offer_id": wire.wrap(offer.id)}})
        self._drop_offer(offer)

    def discard_offer(self, offer: Offer, filters: Json | None = None) -> None:
        """The offer goes back; with ``filters`` (a decline) its resources are refused."""
        self._drop_offer(offer)
        framework = self.frameworks.get(offer.framework_id)
        if framework is not None and filters is not None:
            self.allocator.refuse(framework, offer.role, offer.agent_id, offer.resources,
                                  filters)

    def take_offer(self, offer: Offer) -> None:
        """An accepted offer: gone, its resources now the framework's to use or return."""
        self._drop_offer(offer)

    # -- tasks and updates ---------------------------------------------------------------

    def add_task(self, framework: Framework, agent: AgentRecord, info: Json) -> Task:
        task = Task(info, framework.id, agent.id, agent.hostname)
        framework.tasks[task.id] = task
        agent.tasks[(framework.id, task.id)] = task
        agent.used = agent.used + task.resources
        return task

    def add_executor(self, framework_id: str, agent: AgentRecord, info: Json) -> None:
        eid = wire.value(info["executor_id"])
        agent.executors.setdefault(framework_id, {})[eid] = info
        agent.used = agent.used + Resources.of(info.get("resources", []))

    def remove_executor(self, agent: AgentRecord, framework_id: str, executor_id: str) -> None:
        executors = agent.executors.get(framework_id, {})
        info = executors.pop(executor_id, None)
        if info is not None:
            agent.used = agent.used - Resources.of(info.get("resources", []))
        if not executors:
            agent.executors.pop(framework_id, None)

    def forward(self, framework: Framework, update: Update) -> None:
        """Send an update to its framework (recording what was sent, for reconciliation)."""
        task = framework.tasks.get(update.task_id)
        if task is not None and update.uuid:
            task.status_update_state = update.state
            task.status_update_uuid = update.uuid
        self._send(framework, {"type": "UPDATE", "update": {"status": update.status}})

    def update_task(self, task: Task, update: Update) -> None:
        latest = update.latest_state or update.state
        ended = ("TASK_UNREACHABLE", *wire.TERMINAL_STATES)
        transitioned = task.state not in ended and latest in ended
        if not wire.is_terminal(task.state):
            task.state = latest
        if task.statuses and task.statuses[-1].get("state") == update.state:
            task.statuses.pop()
        status = {k: v for k, v in update.status.items() if k != "data"}
        task.statuses.append(status)
        if transitioned:
            agent = self.agents.get(task.agent_id)
            if agent is not None:
                agent.used = agent.used - task.resources

    def remove_task(self, task: Task, unreachable: bool = False) -> None:
        agent = self.agents.get(task.agent_id)
        if agent is not None:
            if not wire.is_terminal(task.state) and task.state != "TASK_UNREACHABLE":
                agent.used = agent.used - task.resources
            agent.tasks.pop((task.framework_id, task.id), None)
        framework = self.frameworks.get(task.framework_id)
        if framework is not None:
            framework.tasks.pop(task.id, None)
            if unreachable:
                framework.unreachable_tasks[task.id] = task
            else:
                framework.completed_tasks.append(task)

    # -- queries (through actor.call, from the test's thread) ---------------------------

    def task_summaries(self) -> list[Json]:
        """Live tasks, then those the master keeps as completed (terminal, acknowledged) or
        unreachable."""
        live = [summary_of_task(task)
                for agent in self.agents.values() for task in agent.tasks.values()]
        done = [summary_of_task(task, completed=True)
                for framework in [*self.frameworks.values(), *self.completed.values()]
                for task in [*framework.completed_tasks, *framework.unreachable_tasks.values()]]
        return live + done

    def framework_summaries(self) -> list[Json]:
        return [f.summary() for f in self.frameworks.values()]

    def state(self) -> Json:
        """A compact /master/state."""
        return {
            "id": self.id, "pid": f"master@{self.address}", "hostname": "127.0.0.1",
            "version": wire.VERSION, "elected": self.elected, "recovered": self.recovered,
            "leader_info": self.leader,
            "frameworks": [dict(f.summary(), tasks=[t.to_json() for t in f.tasks.values()],
                                offers=sorted(f.offers)) for f in self.frameworks.values()],
            "completed_frameworks": [f.summary() for f in self.completed.values()],
            "slaves": [{"id": a.id, "hostname": a.hostname, "active": a.connected,
                        "resources": a.total.to_json(), "used_resources": a.used.to_json(),
                        "offered_resources": a.offered.to_json(),
                        "attributes": a.info.get("attributes", [])}
                       for a in self.agents.values()],
            "unreachable_slaves": sorted(self.registry.unreachable()),
        }

    def query(self, fn: Callable[[], Any]) -> Any:
        return self.actor.call(fn)
