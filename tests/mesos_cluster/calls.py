"""The scheduler calls after SUBSCRIBE, as Mesos 1.11's master handles them.

``SchedulerCalls.handle`` runs one validated call of a subscribed framework; the HTTP layer
has already answered the checks that precede it (stream id, 403, 400). Invalid launches get
the updates the real master sends: TASK_LOST (TASK_DROPPED if partition-aware) for unusable
offers, TASK_ERROR for an invalid task; those master-made updates carry no uuid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.mesos_cluster import validation, wire
from tests.mesos_cluster.master_state import AgentRecord, Framework
from tests.mesos_cluster.resources import Resources
from tests.mesos_cluster.wire import Json, Update

if TYPE_CHECKING:
    from tests.mesos_cluster.master import Master

log = logging.getLogger(__name__)


class SchedulerCalls:
    def __init__(self, master: Master) -> None:
        self.master = master
        self._handlers: dict[str, Callable[[Framework, Json], None]] = {
            "ACCEPT": self.accept, "DECLINE": self.decline, "REVIVE": self.revive,
            "SUPPRESS": self.suppress, "KILL": self.kill, "ACKNOWLEDGE": self.acknowledge,
            "RECONCILE": self.reconcile, "MESSAGE": self.message, "SHUTDOWN": self.shutdown,
            "TEARDOWN": self.teardown, "UPDATE_FRAMEWORK": self.update_framework,
        }

    def handle(self, framework: Framework, call: Json) -> None:
        kind = call["type"]
        handler = self._handlers.get(kind)
        if handler is None:  # inverse offers, operations, REQUEST: nothing to do here
            log.info("%s from framework %s ignored", kind, framework.id)
            return
        handler(framework, call.get(kind.lower(), {}))

    # -- offers --------------------------------------------------------------------------

    def accept(self, framework: Framework, accept: Json) -> None:
        master = self.master
        offer_ids = [wire.value(o) for o in accept.get("offer_ids", [])]
        operations = accept.get("operations", [])
        problem = validation.offers_error(master, framework, offer_ids)
        if problem:
            for offer_id in offer_ids:
                if offer_id in master.offers:
                    master.discard_offer(master.offers[offer_id])
            state = "TASK_DROPPED" if framework.partition_aware else "TASK_LOST"
            for task in _tasks_of(operations):
                self._master_update(framework, task, state,
                                    f"Task launched with invalid offers: {problem}",
                                    "REASON_INVALID_OFFERS")
            return
        offers = [master.offers[o] for o in offer_ids]
        agent = master.agents[offers[0].agent_id]
        offered = Resources()
        for offer in offers:
            offered = offered + offer.resources
            master.take_offer(offer)
        remaining = offered
        for operation in operations:
            remaining = self._operate(framework, agent, operation, remaining)
        if not remaining.empty():
            master.allocator.refuse(framework, offers[0].role, agent.id, remaining,
                                    accept.get("filters", {}))

    def _operate(self, framework: Framework, agent: AgentRecord, operation: Json,
                 remaining: Resources) -> Resources:
        kind = operation.get("type", "UNKNOWN")
        if kind == "LAUNCH_GROUP":
            for task in operation.get("launch_group", {}).get("task_group", {}).get(
                    "tasks", []):
                self._master_update(framework, task, "TASK_ERROR",
                                    "LAUNCH_GROUP needs Mesos's default executor, which the"
                                    " test cluster does not have", "REASON_TASK_GROUP_INVALID")
            return remaining
        if kind != "LAUNCH":
            log.warning("offer operation %s is not supported by the test cluster: its"
                        " resources are declined", kind)
            return remaining
        for task in operation.get("launch", {}).get("task_infos", []):
            remaining = self._launch(framework, agent, task, operation, remaining)
        return remaining

    def _launch(self, framework: Framework, agent: AgentRecord, task: Json,
                operation: Json, remaining: Resources) -> Resources:
        master = self.master
        executor = task.get("executor")
        if executor is not None and "framework_id" not in executor:
            executor["framework_id"] = wire.wrap(framework.id)
        consumed = ("The `id` field cannot be set on LAUNCH operations" if "id" in operation
                    else validation.task_error(task, framework, agent, remaining))
        if isinstance(consumed, str):
            self._master_update(framework, task, "TASK_ERROR", consumed, "REASON_TASK_INVALID")
            return remaining
        launch_executor = True
        if executor is not None:
            executor_id = wire.value(executor["executor_id"])
            launch_executor = not agent.has_executor(framework.id, executor_id)
            if launch_executor:
                master.add_executor(framework.id, agent, executor)
        master.add_task(framework, agent, task)
        agent.link.run_task(framework.info, task, launch_executor)
        return remaining - consumed

    def decline(self, framework: Framework, decline: Json) -> None:
        for offer_id in (wire.value(o) for o in decline.get("offer_ids", [])):
            offer = self.master.offers.get(offer_id)
            if offer is not None and offer.framework_id == framework.id:
                self.master.discard_offer(offer, decline.get("filters", {}))
            else:
                log.warning("decline of offer %s ignored: it is no longer valid", offer_id)

    def revive(self, framework: Framework, revive: Json) -> None:
        self.master.allocator.revive(framework, list(revive.get("roles", [])))

    def suppress(self, framework: Framework, suppress: Json) -> None:
        self.master.allocator.suppress(framework, list(suppress.get("roles", [])))

    # -- tasks ---------------------------------------------------------------------------

    def kill(self, framework: Framework, kill: Json) -> None:
        task_id = wire.value(kill["task_id"])
        agent_id = wire.value(kill.get("agent_id")) or None
        task = framework.tasks.get(task_id)
        if task is None:  # unknown: the real master answers by reconciling it
            self.reconcile(framework, {"tasks": [{k: v for k, v in kill.items()
                                                  if k in ("task_id", "agent_id")}]})
            return
        if agent_id is not None and agent_id != task.agent_id:
            log.warning("kill of task %s on agent %s ignored: it runs on %s", task_id,
                        agent_id, task.agent_id)
            return
        agent = self.master.agents[task.agent_id]
        agent.killed_tasks.add((framework.id, task_id))
        if agent.connected:
            agent.link.kill_task(framework.id, task_id, kill.get("kill_policy"))

    def acknowledge(self, framework: Framework, acknowledge: Json) -> None:
        agent = self.master.agents.get(wire.value(acknowledge["agent_id"]))
        task_id, uuid = wire.value(acknowledge["task_id"]), acknowledge["uuid"]
        if agent is None or not agent.connected:
            log.warning("acknowledgement of task %s dropped: agent not connected", task_id)
            return
        task = agent.tasks.get((framework.id, task_id))
        if task is not None:
            if task.status_update_state is None:
                log.warning("acknowledgement of task %s ignored: no update was sent", task_id)
                return
            if wire.is_terminal(task.status_update_state) and task.status_update_uuid == uuid:
                self.master.remove_task(task)
        agent.link.acknowledge(framework.id, task_id, uuid)

    def reconcile(self, framework: Framework, reconcile: Json) -> None:
        master = self.master
        asked = reconcile.get("tasks", [])
        if not asked:
            for known in list(framework.tasks.values()):
                self._reconciled(framework, known.id, known.latest_state(), known.agent_id,
                                 known.executor_id, "Reconciliation: Latest task state")
            return
        unreachable = master.registry.unreachable()
        for entry in asked:
            task_id = wire.value(entry["task_id"])
            agent_id = wire.value(entry.get("agent_id")) or None
            task = framework.tasks.get(task_id)
            aware = framework.partition_aware
            if task is not None:
                self._reconciled(framework, task_id, task.latest_state(), task.agent_id,
                                 task.executor_id, "Reconciliation: Latest task state")
            elif (agent_id in master.recovering_agents if agent_id
                  else bool(master.recovering_agents)):
                log.info("reconciliation of %s dropped: agents are still re-registering",
                         task_id)
            elif agent_id and agent_id in master.agents:
                self._reconciled(framework, task_id, "TASK_GONE" if aware else "TASK_LOST",
                                 agent_id, None, "Reconciliation: Task is unknown to the agent")
            elif agent_id and agent_id in unreachable:
                self._reconciled(framework, task_id,
                                 "TASK_UNREACHABLE" if aware else "TASK_LOST", agent_id, None,
                                 "Reconciliation: Task is unreachable",
                                 unreachable_time=unreachable[agent_id])
            else:
                self._reconciled(framework, task_id, "TASK_UNKNOWN" if aware else "TASK_LOST",
                                 agent_id, None, "Reconciliation: Task is unknown")

    def _reconciled(self, framework: Framework, task_id: str, state: str,
                    agent_id: str | None, executor_id: str | None, message: str,
                    unreachable_time: float | None = None) -> None:
        status = wire.task_status(task_id, state, "SOURCE_MASTER", message=message,
                                  reason="REASON_RECONCILIATION", agent_id=agent_id,
                                  executor_id=executor_id, unreachable_time=unreachable_time)
        self.master.send(framework, {"type": "UPDATE", "update": {"status": status}})

    # -- executors and the framework -----------------------------------------------------

    def message(self, framework: Framework, message: Json) -> None:
        agent = self.master.agents.get(wire.value(message["agent_id"]))
        if agent is None or not agent.connected:
            log.warning("framework message dropped: agent %s not connected",
                        wire.value(message["agent_id"]))
            return
        agent.link.framework_message(framework.id, wire.value(message["executor_id"]),
                                     message["data"])

    def shutdown(self, framework: Framework, shutdown: Json) -> None:
        agent = self.master.agents.get(wire.value(shutdown["agent_id"]))
        if agent is not None and agent.connected:
            agent.link.shutdown_executor(framework.id, wire.value(shutdown["executor_id"]))

    def teardown(self, framework: Framework, _teardown: Json) -> None:
        self.master.remove_framework(framework)

    def update_framework(self, framework: Framework, update: Json) -> None:
        info = update["framework_info"]
        for immutable in ("principal", "user", "checkpoint"):
            if immutable in framework.info:
                info[immutable] = framework.info[immutable]
        framework.info = info
        framework.suppressed = set(update.get("suppressed_roles", []))

    def _master_update(self, framework: Framework, task: Json, state: str, message: str,
                       reason: str) -> None:
        status = wire.task_status(wire.value(task.get("task_id")), state, "SOURCE_MASTER",
                                  message=message, reason=reason,
                                  agent_id=wire.value(task.get("agent_id")) or None)
        self.master.forward(framework, Update(framework.id, status))


def _tasks_of(operations: list[Json]) -> list[Json]:
    tasks: list[Json] = []
    for operation in operations:
        if operation.get("type") == "LAUNCH":
            tasks.extend(operation.get("launch", {}).get("task_infos", []))
        elif operation.get("type") == "LAUNCH_GROUP":
            tasks.extend(operation.get("launch_group", {}).get("task_group", {}).get(
                "tasks", []))
    return tasks
