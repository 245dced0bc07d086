"""Instant agents, for benchmarks: they launch nothing.

Each LAUNCHed task is TASK_RUNNING at once and each KILL makes it TASK_KILLED, as if a
perfect executor answered; the updates carry uuids and are retried until acknowledged, as
any agent's. Instant agents have no HTTP server and share one loop (their masters run on
it too, as guests), so a hundred are cheap.
"""

from __future__ import annotations

import logging

from tests.mesos_cluster import wire
from tests.mesos_cluster.actor import Actor
from tests.mesos_cluster.agent_base import AgentConfig, AgentCore, AgentTask
from tests.mesos_cluster.wire import Json, Update

log = logging.getLogger(__name__)


class InstantAgent(AgentCore):
    def __init__(self, name: str, config: AgentConfig, actor: Actor, port: int) -> None:
        super().__init__(config, actor)
        self.name = name
        self.port = port  # never listened on: only what offers and AgentInfo show
        self.executors: dict[str, dict[str, Json]] = {}  # fid -> eid -> ExecutorInfo

    def start(self) -> None:
        self.actor.call(setattr, self, "up", True)

    def kill(self) -> None:
        self.actor.call(self._go_down, True)

    def restart(self, downtime: float = 0.0) -> None:
        self.actor.call(self._go_down, False)
        self.actor.call(self._come_back)

    def stop(self) -> None:
        self.actor.call(self._go_down, None)

    def _go_down(self, removed: bool | None) -> None:
        if not self.up:
            return
        self.up = False
        self.disconnected()
        if self.master is not None and self.agent_id and removed is not None:
            self.master.agent_exited(self.agent_id, removed)

    def _come_back(self) -> None:
        self.up = True
        master, self.master = self.master, None
        self.detected(master)

    def executor_infos(self) -> list[Json]:
        return [info for by_id in self.executors.values() for info in by_id.values()]

    def _executor_update(self, framework_id: str, task_id: str, executor_id: str,
                         state: str, message: str) -> None:
        status = wire.task_status(task_id, state, "SOURCE_EXECUTOR", message=message,
                                  executor_id=executor_id, uuid=wire.new_uuid())
        self.status_update(Update(framework_id, status))

    def on_run_task(self, framework_info: Json, task: Json, launch_executor: bool) -> None:
        if not self.up:
            return
        framework_id = wire.value(framework_info["id"])
        self.frameworks[framework_id] = framework_info
        task_id = wire.value(task["task_id"])
        executor = task.get("executor")
        executor_id = wire.value(executor["executor_id"]) if executor else task_id
        if executor is not None:  # a command task's executor is no executor to report
            self.executors.setdefault(framework_id, {})[executor_id] = executor
        self.tasks[(framework_id, task_id)] = AgentTask(task, framework_id, executor_id)
        self._executor_update(framework_id, task_id, executor_id, "TASK_RUNNING",
                              "instant agent: running")

    def on_kill_task(self, framework_id: str, task_id: str, kill_policy: Json | None) -> None:
        if not self.up or framework_id not in self.frameworks:
            return
        task = self.tasks.get((framework_id, task_id))
        if task is None:
            aware = wire.has_capability(self.frameworks[framework_id], "PARTITION_AWARE")
            self.agent_update(framework_id, task_id, "TASK_DROPPED" if aware else "TASK_LOST",
                              "Cannot find executor", "REASON_EXECUTOR_TERMINATED")
        elif not wire.is_terminal(task.state):
            self._executor_update(framework_id, task_id, task.executor_id, "TASK_KILLED",
                                  "instant agent: killed")

    def on_shutdown_framework(self, framework_id: str) -> None:
        if not self.up:
            return
        self.executors.pop(framework_id, None)
        self.frameworks.pop(framework_id, None)
        for key in [k for k in self.tasks if k[0] == framework_id]:
            del self.tasks[key]
        self.updates.forget_framework(framework_id)

    def on_shutdown_executor(self, framework_id: str, executor_id: str) -> None:
        if not self.up or executor_id not in self.executors.get(framework_id, {}):
            return
        for task in [t for (fid, _), t in self.tasks.items()
                     if fid == framework_id and t.executor_id == executor_id]:
            if not wire.is_terminal(task.state):
                self._executor_update(framework_id, task.id, executor_id, "TASK_KILLED",
                                      "instant agent: executor shut down")
        del self.executors[framework_id][executor_id]
        if self.master is not None and self.agent_id:
            self.master.exited_executor(self.agent_id, framework_id, executor_id, 0)

    def on_framework_message(self, framework_id: str, executor_id: str, data: str) -> None:
        log.info("%s: framework message to %s dropped (instant agents run no executor)",
                 self.name, executor_id)
