"""What a master does with its agents' messages (``links.MasterLink`` delivers them):
registration, re-registration (after an agent restart, or to a newly elected master, which
learns the tasks from them), status updates, exited executors, and agents that die.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tests.mesos_cluster import wire
from tests.mesos_cluster.links import AgentLink
from tests.mesos_cluster.master_state import AgentRecord
from tests.mesos_cluster.resources import Resources
from tests.mesos_cluster.wire import Json, Update

if TYPE_CHECKING:
    from tests.mesos_cluster.master import Master

log = logging.getLogger(__name__)


class AgentMessages:
    def __init__(self, master: Master) -> None:
        self.master = master
        self._next_id = 0

    def on_register_agent(self, link: AgentLink, info: Json) -> None:
        if not self.master.serving():
            return
        known = next((a for a in self.master.agents.values() if a.link is link), None)
        if known is not None:  # a retry that crossed our answer: answer again
            link.registered(self.master.link(), known.id)
            return
        agent_id = f"{self.master.id}-S{self._next_id}"
        self._next_id += 1
        info["id"] = wire.wrap(agent_id)
        total = Resources.of(info.get("resources", []))
        self.master.agents[agent_id] = AgentRecord(agent_id, info, link, total)
        self.master.registry.admit(agent_id, info)
        log.info("agent %s (%s) registered", agent_id, info["hostname"])
        link.registered(self.master.link(), agent_id)

    def on_reregister_agent(self, link: AgentLink, info: Json, executors: list[Json],
                            tasks: list[Json], frameworks: list[Json]) -> None:
        if not self.master.serving():
            return
        agent_id = wire.value(info["id"])
        if agent_id in self.master.removed_agents:
            log.warning("removed agent %s tried to re-register: ignored", agent_id)
            return
        known = self.master.agents.get(agent_id)
        if known is not None:
            known.link, known.connected = link, True
            self._reconcile_known_agent(known, executors, tasks)
        else:
            self._add_recovered_agent(link, info, executors, tasks, frameworks)
        self.master.registry.admit(agent_id, info)
        link.registered(self.master.link(), agent_id)

    def _add_recovered_agent(self, link: AgentLink, info: Json, executors: list[Json],
                             tasks: list[Json], frameworks: list[Json]) -> None:
        agent_id = wire.value(info["id"])
        self.master.recovering_agents.discard(agent_id)
        agent = AgentRecord(agent_id, info, link, Resources.of(info.get("resources", [])))
        self.master.agents[agent_id] = agent
        for framework_info in frameworks:
            fid = wire.value(framework_info["id"])
            if fid in self.master.completed:
                link.shutdown_framework(fid)
            elif fid not in self.master.frameworks:
                self.master.recover_framework(framework_info)
        for executor in executors:
            fid = wire.value(executor["framework_id"])
            if fid in self.master.frameworks:
                self.master.add_executor(fid, agent, executor)
        for reported in tasks:
            fid = wire.value(reported["framework_id"])
            framework = self.master.frameworks.get(fid)
            if framework is None:
                continue
            task = self.master.add_task(framework, agent, reported["info"])
            task.state = reported["state"]
            task.statuses = reported.get("statuses", [])
            task.status_update_state = reported.get("status_update_state")
            task.status_update_uuid = reported.get("status_update_uuid")
            if wire.is_terminal(task.state):
                agent.used = agent.used - task.resources
        log.info("agent %s re-registered with %d task(s)", agent_id, len(tasks))

    def _reconcile_known_agent(self, agent: AgentRecord, executors: list[Json],
                               tasks: list[Json]) -> None:
        reported = {(wire.value(t["framework_id"]), wire.value(t["info"]["task_id"]))
                    for t in tasks}
        unknown: dict[str, list[str]] = {}
        for (fid, tid), _task in agent.tasks.items():
            if (fid, tid) not in reported:
                unknown.setdefault(fid, []).append(tid)
        for fid, task_ids in unknown.items():
            framework = self.master.frameworks.get(fid)
            if framework is not None:
                agent.link.reconcile_tasks(framework.info, task_ids)
        reported_executors = {(wire.value(e["framework_id"]), wire.value(e["executor_id"]))
                              for e in executors}
        for fid, by_id in list(agent.executors.items()):
            for eid in list(by_id):
                if (fid, eid) not in reported_executors:
                    self.master.remove_executor(agent, fid, eid)
        for reported_task in tasks:
            key = (wire.value(reported_task["framework_id"]),
                   wire.value(reported_task["info"]["task_id"]))
            if key in agent.killed_tasks and not wire.is_terminal(reported_task["state"]):
                agent.link.kill_task(key[0], key[1], None)
        for fid in {wire.value(t["framework_id"]) for t in tasks}:
            if fid in self.master.completed:
                agent.link.shutdown_framework(fid)

    def on_status_update(self, agent_id: str, update: Update) -> None:
        if not self.master.serving():
            return
        agent = self.master.agents.get(agent_id)
        if agent is None or agent_id in self.master.removed_agents:
            log.warning("status update from unknown agent %s ignored", agent_id)
            return
        framework = self.master.frameworks.get(update.framework_id)
        if framework is not None and framework.connected:
            self.master.forward(framework, update)
        task = agent.tasks.get((update.framework_id, update.task_id))
        if task is not None:
            self.master.update_task(task, update)

    def on_exited_executor(self, agent_id: str, framework_id: str, executor_id: str,
                           status: int) -> None:
        agent = self.master.agents.get(agent_id)
        if not self.master.serving() or agent is None:
            return
        if not agent.has_executor(framework_id, executor_id):
            return
        self.master.remove_executor(agent, framework_id, executor_id)
        framework = self.master.frameworks.get(framework_id)
        if framework is not None and framework.connected:
            self.master.send(framework, {"type": "FAILURE", "failure": {
                "agent_id": wire.wrap(agent_id), "executor_id": wire.wrap(executor_id),
                "status": status}})

    def on_executor_message(self, agent_id: str, framework_id: str, executor_id: str,
                            data: str) -> None:
        framework = self.master.frameworks.get(framework_id)
        if self.master.serving() and agent_id in self.master.agents and framework is not None:
            self.master.send(framework, {"type": "MESSAGE", "message": {
                "agent_id": wire.wrap(agent_id), "executor_id": wire.wrap(executor_id),
                "data": data}})

    def on_agent_exited(self, agent_id: str, removed: bool) -> None:
        agent = self.master.agents.get(agent_id)
        if not self.master.serving() or agent is None:
            return
        agent.connected = False
        for offer_id in list(agent.offers):
            self.master.rescind_offer(self.master.offers[offer_id])
        if removed:
            self.remove_agent(agent, "Agent killed: health check timed out")

    def remove_agent(self, agent: AgentRecord, message: str) -> None:
        """The agent is unreachable (Mesos's markUnreachable): its tasks are lost."""
        when = wire.now()
        self.master.registry.mark_unreachable(agent.id, when)
        for (fid, _tid), task in list(agent.tasks.items()):
            framework = self.master.frameworks.get(fid)
            if framework is None:
                continue
            state = "TASK_UNREACHABLE" if framework.partition_aware else "TASK_LOST"
            update = Update(fid, wire.task_status(
                task.id, state, "SOURCE_MASTER", message=message,
                reason="REASON_AGENT_REMOVED", agent_id=agent.id,
                executor_id=task.executor_id, unreachable_time=when))
            self.master.update_task(task, update)
            self.master.remove_task(task, unreachable=True)
            if framework.connected:
                self.master.forward(framework, update)
        for offer_id in list(agent.offers):
            self.master.rescind_offer(self.master.offers[offer_id])
        del self.master.agents[agent.id]
        self.master.removed_agents.add(agent.id)
        self.master.send_all({"type": "FAILURE", "failure": {"agent_id": wire.wrap(agent.id)}})
