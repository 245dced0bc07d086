"""The messages between a master and its agents (Mesos's internal protocol, not HTTP).

Each method of a link is one message: it copies its arguments and queues the receiver's
handler on the receiver's loop, so a master and an agent never run inside each other (and a
message to a stopped component is lost, as it would be on the wire). The handlers are the
receivers' ``on_*`` methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.mesos_cluster.wire import Json, Update, deep_copy

if TYPE_CHECKING:
    from tests.mesos_cluster.actor import Actor
    from tests.mesos_cluster.agent_base import AgentCore
    from tests.mesos_cluster.master import Master


class MasterLink:
    """An agent's way to its master."""

    def __init__(self, master: Master, actor: Actor) -> None:
        self.master = master
        self._actor = actor
        self._to = master.from_agents

    @property
    def master_id(self) -> str:
        return self.master.id

    def register_agent(self, agent: AgentLink, info: Json) -> None:
        self._actor.post(self._to.on_register_agent, agent, deep_copy(info))

    def reregister_agent(self, agent: AgentLink, info: Json, executors: list[Json],
                         tasks: list[Json], frameworks: list[Json]) -> None:
        self._actor.post(self._to.on_reregister_agent, agent, deep_copy(info),
                         deep_copy(executors), deep_copy(tasks), deep_copy(frameworks))

    def status_update(self, agent_id: str, update: Update) -> None:
        self._actor.post(self._to.on_status_update, agent_id, update.copy())

    def exited_executor(self, agent_id: str, framework_id: str, executor_id: str,
                        status: int) -> None:
        self._actor.post(self._to.on_exited_executor, agent_id, framework_id, executor_id, status)

    def executor_message(self, agent_id: str, framework_id: str, executor_id: str,
                         data: str) -> None:
        self._actor.post(self._to.on_executor_message, agent_id, framework_id, executor_id, data)

    def agent_exited(self, agent_id: str, removed: bool) -> None:
        """The agent's connection broke: it restarts (``removed=False``) or is gone."""
        self._actor.post(self._to.on_agent_exited, agent_id, removed)


class AgentLink:
    """A master's way to one agent."""

    def __init__(self, agent: AgentCore, actor: Actor) -> None:
        self.agent = agent
        self._actor = actor

    def registered(self, master: MasterLink, agent_id: str) -> None:
        self._actor.post(self.agent.on_registered, master, agent_id)

    def run_task(self, framework_info: Json, task: Json, launch_executor: bool) -> None:
        self._actor.post(self.agent.on_run_task, deep_copy(framework_info), deep_copy(task),
                         launch_executor)

    def kill_task(self, framework_id: str, task_id: str, kill_policy: Json | None) -> None:
        self._actor.post(self.agent.on_kill_task, framework_id, task_id,
                         deep_copy(kill_policy))

    def acknowledge(self, framework_id: str, task_id: str, uuid: str) -> None:
        self._actor.post(self.agent.on_acknowledge, framework_id, task_id, uuid)

    def shutdown_framework(self, framework_id: str) -> None:
        self._actor.post(self.agent.on_shutdown_framework, framework_id)

    def shutdown_executor(self, framework_id: str, executor_id: str) -> None:
        self._actor.post(self.agent.on_shutdown_executor, framework_id, executor_id)

    def framework_message(self, framework_id: str, executor_id: str, data: str) -> None:
        self._actor.post(self.agent.on_framework_message, framework_id, executor_id, data)

    def reconcile_tasks(self, framework_info: Json, task_ids: list[str]) -> None:
        self._actor.post(self.agent.on_reconcile_tasks, deep_copy(framework_info),
                         list(task_ids))

    def update_framework(self, framework_info: Json) -> None:
        self._actor.post(self.agent.on_update_framework, deep_copy(framework_info))
