"""Tasks launched with a ``command`` and no ExecutorInfo, run as Mesos's command executor
runs them (``src/launcher/executor.cpp``), here inside the agent: the executor id is the
task id, the task's command is the container's process; TASK_STARTING then TASK_RUNNING,
then TASK_FINISHED (exit 0), TASK_FAILED or, after a KILL (SIGTERM, then SIGKILL after the
kill policy's grace period, 3 s by default), TASK_KILLED, each "Command exited with status
N". The end of a command executor is no FAILURE for the framework, as in Mesos.
"""

from __future__ import annotations

import logging
import os
import signal
from contextlib import suppress
from typing import TYPE_CHECKING

from tests.mesos_cluster import executors, wire
from tests.mesos_cluster.agent_base import AgentTask
from tests.mesos_cluster.executors import Executor
from tests.mesos_cluster.wire import Json, Update

if TYPE_CHECKING:
    from tests.mesos_cluster.agent import Agent

log = logging.getLogger(__name__)

DEFAULT_KILL_GRACE = 3.0  # the command executor's default grace period


def command_executor_info(framework_id: str, task: Json) -> Json:
    task_id = wire.value(task["task_id"])
    command = task["command"]
    return {"executor_id": wire.wrap(task_id), "framework_id": wire.wrap(framework_id),
            "name": f"Command Executor (Task: {task_id}) (Command: sh -c "
                    f"'{command.get('value', '')}')",
            "source": task_id, "command": command}


class CommandTasks:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def run(self, framework_info: Json, task: Json) -> None:
        agent = self.agent
        framework_id = wire.value(framework_info["id"])
        task_id = wire.value(task["task_id"])
        info = command_executor_info(framework_id, task)
        agent.tasks[(framework_id, task_id)] = AgentTask(task, framework_id, task_id)
        sandbox = executors.make_sandbox(agent.config.work_dir, agent.agent_id or "",
                                         framework_id, task_id, executors.new_container_id())
        executor = Executor(framework_id, info, sandbox.name, sandbox,
                            bool(framework_info.get("checkpoint", False)), state="RUNNING",
                            command_task=True, ever_sent_task=True)
        executor.launched.add(task_id)
        agent.executors.setdefault(framework_id, {})[task_id] = executor
        problem = executors.fetch(task["command"].get("uris", []), sandbox)
        if problem is None:
            env = executors.environment(
                agent.config.env, executor, agent.agent_id or "", agent.port,
                agent.config.executor_shutdown_grace_period,
                agent.config.executor_reregistration_timeout, agent.config.recovery_timeout)
            try:
                executor.process = executors.spawn(task["command"], env, sandbox)
            except OSError as e:
                problem = f"Failed to launch container: {e}"
        process = executor.process
        if problem is not None or process is None:
            executor.state = "TERMINATED"
            agent.agent_update(framework_id, task_id, "TASK_FAILED",
                               problem or "Failed to launch container",
                               "REASON_CONTAINER_LAUNCH_FAILED", task_id)
            return
        agent.launched.append(process)
        agent.reapers.append(executors.watch(process, lambda code: agent.reaped(executor, code)))
        self._update(executor, task_id, "TASK_STARTING")
        self._update(executor, task_id, "TASK_RUNNING")

    def kill(self, executor: Executor, kill_policy: Json | None) -> None:
        if executor.state != "RUNNING" or executor.killing:
            return
        executor.killing = True
        task_id = executor.id
        framework_info = self.agent.frameworks.get(executor.framework_id, {})
        if wire.has_capability(framework_info, "TASK_KILLING_STATE"):
            self._update(executor, task_id, "TASK_KILLING")
        task = self.agent.tasks.get((executor.framework_id, task_id))
        policy = kill_policy or (task.info.get("kill_policy") if task else None) or {}
        grace = policy.get("grace_period", {}).get("nanoseconds")
        if executor.process is not None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(executor.process.pid, signal.SIGTERM)
        self.agent.actor.later(DEFAULT_KILL_GRACE if grace is None else grace / 1e9,
                               executors.kill_container, executor)

    def exited(self, executor: Executor) -> None:
        """The task's command ended: its last update, from the command executor."""
        returncode = executor.exit_code if executor.exit_code is not None else -1
        executors.kill_container(executor, exited=True)
        executor.state = "TERMINATED"
        if executor.framework_id in self.agent.terminating:
            self.agent.remove_executor(executor)
            return
        state = ("TASK_KILLED" if executor.killing
                 else "TASK_FINISHED" if returncode == 0 else "TASK_FAILED")
        self._update(executor, executor.id, state, executors.describe_exit(returncode))

    def _update(self, executor: Executor, task_id: str, state: str,
                message: str | None = None) -> None:
        status = wire.task_status(task_id, state, "SOURCE_EXECUTOR", message=message,
                                  uuid=wire.new_uuid())
        self.agent.status_update(Update(executor.framework_id, status))
