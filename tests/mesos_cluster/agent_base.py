"""What every test agent does, whether it runs executors (``agent.py``) or fakes them
(``instant.py``): register with the leading master (and re-register after a master
failover or its own restart), keep the tasks it was given, and deliver their status updates
reliably (``status_updates.py``), stamped as the real agent stamps them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.mesos_cluster import wire
from tests.mesos_cluster.links import AgentLink, MasterLink
from tests.mesos_cluster.resources import Resources
from tests.mesos_cluster.status_updates import StatusUpdateManager
from tests.mesos_cluster.wire import Json, Update

if TYPE_CHECKING:
    from tests.mesos_cluster.actor import Actor

log = logging.getLogger(__name__)

REGISTRATION_RETRY = 0.2  # seconds between (re-)registration attempts


@dataclass(frozen=True)
class AgentConfig:
    hostname: str
    resources: list[Json]
    attributes: list[Json]
    work_dir: str = ""
    status_update_retry: float = 10.0  # Mesos's STATUS_UPDATE_RETRY_INTERVAL_MIN
    executor_registration_timeout: float = 60.0
    executor_reregistration_timeout: float = 2.0
    executor_shutdown_grace_period: float = 5.0
    executor_heartbeat_interval: float = 1800.0
    recovery_timeout: float = 900.0
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class AgentTask:
    info: Json
    framework_id: str
    executor_id: str
    state: str = "TASK_STAGING"
    statuses: list[Json] = field(default_factory=list)
    status_update_state: str | None = None
    status_update_uuid: str | None = None

    @property
    def id(self) -> str:
        return wire.value(self.info["task_id"])

    def report(self) -> Json:
        """What a re-registering agent tells the master about this task."""
        return {"framework_id": wire.wrap(self.framework_id), "info": self.info,
                "state": self.state, "statuses": self.statuses,
                "status_update_state": self.status_update_state,
                "status_update_uuid": self.status_update_uuid}


class AgentCore:
    """Registration, tasks and status updates; subclasses run (or fake) the executors."""

    def __init__(self, config: AgentConfig, actor: Actor) -> None:
        self.config = config
        self.actor = actor
        self.agent_id: str | None = None
        self.port = 0
        self.up = False  # the agent process is running
        self.master: MasterLink | None = None
        self.registered = False
        self.frameworks: dict[str, Json] = {}  # FrameworkInfo of each framework it runs
        self.tasks: dict[tuple[str, str], AgentTask] = {}
        self.updates = StatusUpdateManager(self._forward, actor.later,
                                           config.status_update_retry)
        self._link = AgentLink(self, actor)

    @property
    def hostname(self) -> str:
        return self.config.hostname

    def info(self) -> Json:
        """This agent's v1 AgentInfo."""
        info: Json = {"hostname": self.hostname, "port": self.port,
                      "resources": self.config.resources,
                      "attributes": self.config.attributes}
        if self.agent_id:
            info["id"] = wire.wrap(self.agent_id)
        return info

    def total(self) -> Resources:
        return Resources.of(self.config.resources)

    # -- registration --------------------------------------------------------------------

    def ready_to_register(self) -> bool:
        """Whether the agent is up and done recovering."""
        return self.up

    def detected(self, master: MasterLink | None) -> None:
        """The leading master changed (None: there is none for now)."""
        if master is not None and master is self.master and self.registered:
            return
        self.master, self.registered = master, False
        self.updates.pause()
        if master is not None and self.ready_to_register():
            self._register(master)

    def _register(self, master: MasterLink) -> None:
        if not self.ready_to_register() or self.registered or master is not self.master:
            return
        if self.agent_id is None:
            master.register_agent(self._link, self.info())
        else:
            master.reregister_agent(self._link, self.info(), self.executor_infos(),
                                    [t.report() for t in self.tasks.values()],
                                    list(self.frameworks.values()))
        self.actor.later(REGISTRATION_RETRY, self._register, master)

    def on_registered(self, master: MasterLink, agent_id: str) -> None:
        if not self.up or master is not self.master:
            return
        if self.agent_id not in (None, agent_id):
            log.error("%s: master gave id %s, but it is %s", self.hostname, agent_id,
                      self.agent_id)
            return
        self.agent_id = agent_id
        if not self.registered:
            self.registered = True
            self.updates.resume()

    def disconnected(self) -> None:
        self.registered = False
        self.updates.pause()

    # -- status updates ------------------------------------------------------------------

    def status_update(self, update: Update) -> None:
        """Take an update (from an executor or made here) for reliable delivery."""
        if self.updates.seen(update):
            return  # a duplicate: an executor resending what it had not seen acknowledged
        status = update.status
        status["agent_id"] = wire.wrap(self.agent_id or "")
        task = self.tasks.get((update.framework_id, update.task_id))
        if task is not None:
            status["executor_id"] = wire.wrap(task.executor_id)
            if not wire.is_terminal(task.state):
                task.state = update.state
            task.statuses.append({k: v for k, v in status.items() if k != "data"})
        self.updates.update(update)

    def _forward(self, update: Update) -> None:
        """The update manager sends one update (retries included) to the master."""
        task = self.tasks.get((update.framework_id, update.task_id))
        sent = Update(update.framework_id, update.status, update.latest_state)  # the link copies
        if task is not None:
            task.status_update_state, task.status_update_uuid = update.state, update.uuid
            sent.latest_state = task.state
        if self.master is not None and self.registered and self.agent_id:
            self.master.status_update(self.agent_id, sent)

    def agent_update(self, framework_id: str, task_id: str, state: str, message: str,
                     reason: str, executor_id: str | None = None) -> None:
        """An update the agent itself makes (SOURCE_AGENT), reliable as any other."""
        status = wire.task_status(task_id, state, "SOURCE_AGENT", message=message,
                                  reason=reason, executor_id=executor_id,
                                  uuid=wire.new_uuid())
        self.status_update(Update(framework_id, status))

    def on_acknowledge(self, framework_id: str, task_id: str, uuid: str) -> None:
        if not self.up:
            return
        problem = self.updates.acknowledge(framework_id, task_id, uuid)
        if problem:
            log.warning("%s: %s", self.hostname, problem)
            return
        task = self.tasks.get((framework_id, task_id))
        if task is not None and wire.is_terminal(task.state) and not self.updates.pending(
                framework_id, task_id):
            self.task_completed(task)

    def task_completed(self, task: AgentTask) -> None:
        """A task's terminal update was acknowledged: the agent forgets it."""
        self.tasks.pop((task.framework_id, task.id), None)

    def on_reconcile_tasks(self, framework_info: Json, task_ids: list[str]) -> None:
        if not self.up:
            return
        framework_id = wire.value(framework_info["id"])
        state = ("TASK_DROPPED" if wire.has_capability(framework_info, "PARTITION_AWARE")
                 else "TASK_LOST")
        for task_id in task_ids:
            if (framework_id, task_id) not in self.tasks:
                status = wire.task_status(
                    task_id, state, "SOURCE_AGENT",
                    message="Reconciliation: task unknown to the agent",
                    reason="REASON_RECONCILIATION", uuid=wire.new_uuid())
                self.status_update(Update(framework_id, status))

    def on_update_framework(self, framework_info: Json) -> None:
        framework_id = wire.value(framework_info["id"])
        if self.up and framework_id in self.frameworks:
            self.frameworks[framework_id] = framework_info

    def link(self) -> AgentLink:
        return self._link

    # -- what subclasses provide ---------------------------------------------------------

    def executor_infos(self) -> list[Json]:
        raise NotImplementedError

    def on_run_task(self, framework_info: Json, task: Json, launch_executor: bool) -> None:
        raise NotImplementedError

    def on_kill_task(self, framework_id: str, task_id: str, kill_policy: Json | None) -> None:
        raise NotImplementedError

    def on_shutdown_framework(self, framework_id: str) -> None:
        raise NotImplementedError

    def on_shutdown_executor(self, framework_id: str, executor_id: str) -> None:
        raise NotImplementedError

    def on_framework_message(self, framework_id: str, executor_id: str, data: str) -> None:
        raise NotImplementedError
