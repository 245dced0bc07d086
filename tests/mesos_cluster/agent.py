"""A test Mesos agent that runs real executors (as Mesos 1.11's ``slave.cpp`` does).

Tasks are delivered to their executor once it subscribes (queued before); an executor that
does not subscribe within the registration timeout is destroyed and its tasks fail; one
that exits takes its unfinished tasks with it (TASK_FAILED from the agent) and the master
tells the framework (FAILURE). ``kill()`` is the agent's death; ``restart()`` an agent
restart with checkpointing: executors of checkpointing frameworks keep running and must
re-subscribe within ``executor_reregistration_timeout``, the others are destroyed.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections import deque

from tests.mesos_cluster import executors, schema, wire
from tests.mesos_cluster.actor import Actor, EventStream, HttpServer
from tests.mesos_cluster.agent_base import AgentConfig, AgentCore, AgentTask
from tests.mesos_cluster.command_tasks import CommandTasks
from tests.mesos_cluster.executors import Executor
from tests.mesos_cluster.master_state import RecordedCall
from tests.mesos_cluster.wire import Json, Update

log = logging.getLogger(__name__)
MAX_COMPLETED = 150  # Mesos's --max_completed_executors_per_framework


class Agent(AgentCore):
    def __init__(self, name: str, config: AgentConfig, errors: list[str],
                 calls: list[RecordedCall], launched: list[subprocess.Popen[bytes]]) -> None:
        from tests.mesos_cluster.agent_http import executor_app

        super().__init__(config, Actor(name, errors))
        self.name = name
        self.calls = calls
        self.launched = launched
        self.http = HttpServer(executor_app(self), self.actor)
        self.recovering = False
        self.killed = False
        self.reapers: list[threading.Thread] = []  # one waiting thread per executor launched
        self.executors: dict[str, dict[str, Executor]] = {}  # fid -> eid -> executor
        # Ended executors whose sandboxes the agent still keeps (as a real agent's
        # completed_executors, up to its max_completed_executors_per_framework).
        self.completed: dict[str, deque[Json]] = {}
        self.commands = CommandTasks(self)
        self.terminating: set[str] = set()  # frameworks being shut down

    # -- lifetime ------------------------------------------------------------------------

    def start(self) -> None:
        self.actor.start()
        self.http.start()
        self.port = self.http.port
        self.actor.call(setattr, self, "up", True)

    def kill(self) -> None:
        """The agent dies with everything it runs; the master removes it."""
        if not self.up:
            return
        self.killed = True
        self.actor.call(self._die, True)
        self.http.stop(abort=True)

    def restart(self, downtime: float = 0.0) -> None:
        """An agent restart with checkpointing: same id and port, executors recovered."""
        if self.killed:
            raise RuntimeError(f"{self.name} was killed: the master removed it for good")
        self.actor.call(self._die, False)
        self.http.stop(abort=True)
        time.sleep(downtime)
        # Recovered state first, then the executors may reconnect: one that re-subscribed
        # before it was marked as re-registering would be destroyed as never come back.
        self.actor.call(self._recover)
        self.http.start()

    def stop(self) -> None:
        """The end of the test: every executor destroyed, the server and loop stopped."""
        if self.up:
            self.actor.call(self._die, None)
        self.http.stop(abort=True)
        for reaper in self.reapers:  # every executor was destroyed: they end soon
            reaper.join(30)
        self.actor.stop()

    def _die(self, removed: bool | None) -> None:
        """``removed``: killed (True), restarting (False), the cluster stopping (None)."""
        self.up = False
        self.disconnected()
        for executor in self.all_executors():
            if removed is not False or not executor.checkpoint:
                executors.kill_container(executor)
        if removed is False:
            self._forget_uncheckpointed()
        if self.master is not None and self.agent_id and removed is not None:
            self.master.agent_exited(self.agent_id, removed)

    def _forget_uncheckpointed(self) -> None:
        """What a restarted agent cannot recover: frameworks that do not checkpoint."""
        for framework_id, info in list(self.frameworks.items()):
            if not info.get("checkpoint", False):
                self._remove_framework(framework_id)

    def _recover(self) -> None:
        self.up = True
        self.recovering = True
        for executor in self.all_executors():
            if executor.exit_code is not None:
                self._executor_exited(executor)
            elif executor.state in ("RUNNING", "REGISTERING") and not executor.command_task:
                executor.state, executor.stream = "REGISTERING", None
        self.actor.later(self.config.executor_reregistration_timeout, self._recovered)
        self._maybe_recovered()

    def _recovered(self) -> None:
        if not self.recovering or not self.up:
            return
        self.recovering = False
        for executor in self.all_executors():
            if executor.state == "REGISTERING":
                log.info("%s: executor %s did not re-subscribe: destroyed", self.name,
                         executor.id)
                aware = wire.has_capability(self.frameworks[executor.framework_id],
                                            "PARTITION_AWARE")
                grace = wire.duration_text(self.config.executor_reregistration_timeout)
                executor.pending_termination = (
                    "TASK_GONE" if aware else "TASK_LOST",
                    "REASON_EXECUTOR_REREGISTRATION_TIMEOUT",
                    f"Executor did not reregister within {grace}")
                executor.state = "TERMINATING"
                executors.kill_container(executor)
        master, self.master = self.master, None
        self.detected(master)

    def ready_to_register(self) -> bool:
        return self.up and not self.recovering

    def _maybe_recovered(self) -> None:
        if self.recovering and not any(e.state == "REGISTERING" for e in self.all_executors()):
            self._recovered()

    # -- executors -----------------------------------------------------------------------

    def all_executors(self) -> list[Executor]:
        return [e for by_id in self.executors.values() for e in by_id.values()]

    def executor(self, framework_id: str, executor_id: str) -> Executor | None:
        return self.executors.get(framework_id, {}).get(executor_id)

    def executor_infos(self) -> list[Json]:
        """For re-registration: as Mesos, without the command tasks' executors."""
        return [e.info for e in self.all_executors()
                if e.state != "TERMINATED" and not e.command_task]

    def _launch_executor(self, framework_info: Json, info: Json) -> Executor:
        framework_id = wire.value(framework_info["id"])
        container_id = executors.new_container_id()
        sandbox = executors.make_sandbox(self.config.work_dir, self.agent_id or "",
                                         framework_id, wire.value(info["executor_id"]),
                                         container_id)
        executor = Executor(framework_id, info, container_id, sandbox,
                            bool(framework_info.get("checkpoint", False)))
        self.executors.setdefault(framework_id, {})[executor.id] = executor
        command = info.get("command", {})
        problem = executors.fetch(command.get("uris", []), sandbox)
        if problem is None:
            env = executors.environment(
                self.config.env, executor, self.agent_id or "", self.port,
                self.config.executor_shutdown_grace_period,
                self.config.executor_reregistration_timeout, self.config.recovery_timeout)
            try:
                executor.process = executors.spawn(command, env, sandbox)
            except OSError as e:
                problem = f"Failed to launch container: {e}"
        process = executor.process
        if problem is not None or process is None:
            executor.pending_termination = ("TASK_FAILED", "REASON_CONTAINER_LAUNCH_FAILED",
                                            problem or "Failed to launch container")
            executor.exit_code = -1
            self.actor.post(self._executor_exited, executor)
            return executor
        self.launched.append(process)
        self.reapers.append(executors.watch(process, lambda code: self.reaped(executor, code)))
        self.actor.later(self.config.executor_registration_timeout,
                         self._registration_timeout, executor)
        log.info("%s: executor %s launched (pid %d) in %s", self.name, executor.id,
                 process.pid, sandbox)
        return executor

    def reaped(self, executor: Executor, returncode: int) -> None:
        """From the waiting thread: the executor process is gone."""
        executor.exit_code = returncode
        self.actor.post(self._executor_exited, executor)

    def _registration_timeout(self, executor: Executor) -> None:
        if executor.state == "REGISTERING" and self.up:
            timeout = wire.duration_text(self.config.executor_registration_timeout)
            log.info("%s: executor %s did not subscribe within %s", self.name, executor.id,
                     timeout)
            executor.state = "TERMINATING"
            executor.pending_termination = ("TASK_FAILED",
                                            "REASON_EXECUTOR_REGISTRATION_TIMEOUT",
                                            f"Executor did not register within {timeout}")
            executors.kill_container(executor)

    def _executor_exited(self, executor: Executor) -> None:
        if not self.up or executor.state == "TERMINATED":
            return
        if executor.command_task:
            self.commands.exited(executor)
            return
        returncode = executor.exit_code if executor.exit_code is not None else -1
        executors.kill_container(executor, exited=True)  # the container goes with it
        executor.state = "TERMINATED"
        if executor.stream is not None:
            executor.stream.close()
            executor.stream = None
        framework_id = executor.framework_id
        if framework_id not in self.terminating:
            state, reason, message = executor.pending_termination or (
                "TASK_FAILED", "REASON_EXECUTOR_TERMINATED",
                executors.describe_exit(returncode))
            for task in self._tasks_of(executor):
                if not wire.is_terminal(task.state):
                    self.agent_update(framework_id, task.id, state, message, reason,
                                      executor.id)
            executor.queued.clear()
        if self.master is not None and self.agent_id:
            self.master.exited_executor(self.agent_id, framework_id, executor.id,
                                        executors.wait_status(returncode))
        if framework_id in self.terminating or not self._tasks_of(executor):
            self.remove_executor(executor)

    def _tasks_of(self, executor: Executor) -> list[AgentTask]:
        return [t for (fid, _), t in self.tasks.items()
                if fid == executor.framework_id and t.executor_id == executor.id]

    def remove_executor(self, executor: Executor) -> None:
        self.completed.setdefault(executor.framework_id, deque(maxlen=MAX_COMPLETED)).append(
            {"id": executor.id, "container": executor.container_id,
             "directory": str(executor.directory), "state": "TERMINATED"})
        by_id = self.executors.get(executor.framework_id, {})
        by_id.pop(executor.id, None)
        if not by_id:
            self.executors.pop(executor.framework_id, None)
        self._maybe_remove_framework(executor.framework_id)

    def _maybe_remove_framework(self, framework_id: str) -> None:
        idle = not self.executors.get(framework_id) and not self.updates.has_pending(
            framework_id)
        if idle and framework_id in self.frameworks:
            self._remove_framework(framework_id)

    def _remove_framework(self, framework_id: str) -> None:
        for executor in list(self.executors.pop(framework_id, {}).values()):
            executors.kill_container(executor)
        for key in [k for k in self.tasks if k[0] == framework_id]:
            del self.tasks[key]
        self.updates.forget_framework(framework_id)
        self.frameworks.pop(framework_id, None)
        self.terminating.discard(framework_id)

    def task_completed(self, task: AgentTask) -> None:
        super().task_completed(task)
        executor = self.executor(task.framework_id, task.executor_id)
        if executor is not None:
            executor.launched.discard(task.id)
            if executor.state == "TERMINATED" and not self._tasks_of(executor):
                self.remove_executor(executor)
        self._maybe_remove_framework(task.framework_id)

    def send_event(self, executor: Executor, event: Json) -> None:
        schema.check("executor.Event", event, "event")
        if executor.stream is not None:
            executor.stream.send(event)

    def _deliver(self, executor: Executor, task: Json) -> None:
        executor.launched.add(wire.value(task["task_id"]))
        executor.ever_sent_task = True
        self.send_event(executor, {"type": "LAUNCH", "launch": {"task": task}})

    def shutdown_executor(self, executor: Executor) -> None:
        grace = executor.shutdown_grace_period
        if grace is None:
            grace = self.config.executor_shutdown_grace_period
        if executor.command_task:
            self.commands.kill(executor, {"grace_period": {"nanoseconds": int(grace * 1e9)}})
            return
        executor.state = "TERMINATING"
        self.send_event(executor, {"type": "SHUTDOWN"})
        self.actor.later(grace, self._shutdown_timeout, executor)

    def _shutdown_timeout(self, executor: Executor) -> None:
        if executor.state == "TERMINATING":
            log.info("%s: executor %s outlived its shutdown grace period: destroyed",
                     self.name, executor.id)
            executors.kill_container(executor)

    # -- the master's messages -----------------------------------------------------------

    def on_run_task(self, framework_info: Json, task: Json, launch_executor: bool) -> None:
        if not self.up:
            return
        framework_id = wire.value(framework_info["id"])
        if framework_id in self.terminating:
            log.warning("%s: task for terminating framework %s dropped", self.name,
                        framework_id)
            return
        self.frameworks[framework_id] = framework_info
        if "executor" not in task:
            self.commands.run(framework_info, task)
            return
        info = task["executor"]
        task_id = wire.value(task["task_id"])
        self.tasks[(framework_id, task_id)] = AgentTask(task, framework_id,
                                                        wire.value(info["executor_id"]))
        executor = self.executor(framework_id, wire.value(info["executor_id"]))
        if executor is None:
            executor = self._launch_executor(framework_info, info)
        if executor.state == "REGISTERING":
            executor.queued[task_id] = task
        elif executor.state == "RUNNING":
            self._deliver(executor, task)
        else:
            state = ("TASK_DROPPED" if wire.has_capability(framework_info, "PARTITION_AWARE")
                     else "TASK_LOST")
            self.agent_update(framework_id, task_id, state, "Executor terminating",
                              "REASON_EXECUTOR_TERMINATED", executor.id)

    def on_kill_task(self, framework_id: str, task_id: str, kill_policy: Json | None) -> None:
        if not self.up or self.recovering or framework_id in self.terminating:
            return
        if framework_id not in self.frameworks:
            return
        task = self.tasks.get((framework_id, task_id))
        executor = self.executor(framework_id, task.executor_id) if task else None
        if task is None or executor is None:
            aware = wire.has_capability(self.frameworks[framework_id], "PARTITION_AWARE")
            self.agent_update(framework_id, task_id, "TASK_DROPPED" if aware else "TASK_LOST",
                              "Cannot find executor", "REASON_EXECUTOR_TERMINATED")
            return
        if executor.command_task:
            self.commands.kill(executor, kill_policy)
        elif executor.state in ("TERMINATING", "TERMINATED"):
            log.info("%s: kill of %s ignored: its executor is %s", self.name, task_id,
                     executor.state)
        elif executor.state == "REGISTERING" or task_id in executor.queued:
            executor.queued.pop(task_id, None)
            self.agent_update(framework_id, task_id, "TASK_KILLED",
                              "Killed before delivery to the executor",
                              "REASON_TASK_KILLED_DURING_LAUNCH", executor.id)
            if (executor.state == "RUNNING" and not executor.ever_sent_task
                    and not executor.queued):
                self.shutdown_executor(executor)
        else:
            kill: Json = {"task_id": wire.wrap(task_id)}
            if kill_policy:
                kill["kill_policy"] = kill_policy
            self.send_event(executor, {"type": "KILL", "kill": kill})

    def on_shutdown_framework(self, framework_id: str) -> None:
        if not self.up or not self.registered or framework_id not in self.frameworks:
            return
        self.terminating.add(framework_id)
        self.updates.forget_framework(framework_id)
        for executor in list(self.executors.get(framework_id, {}).values()):
            if executor.state in ("REGISTERING", "RUNNING"):
                self.shutdown_executor(executor)
            elif executor.state == "TERMINATED":
                self.remove_executor(executor)
        if not self.executors.get(framework_id):
            self._remove_framework(framework_id)

    def on_shutdown_executor(self, framework_id: str, executor_id: str) -> None:
        executor = self.executor(framework_id, executor_id)
        if self.up and executor is not None and executor.state in ("REGISTERING", "RUNNING"):
            self.shutdown_executor(executor)

    def on_framework_message(self, framework_id: str, executor_id: str, data: str) -> None:
        executor = self.executor(framework_id, executor_id)
        if not self.up or executor is None or executor.state != "RUNNING" or (
                executor.command_task):
            log.warning("%s: framework message for executor %s dropped", self.name,
                        executor_id)
            return
        self.send_event(executor, {"type": "MESSAGE", "message": {"data": data}})

    # -- the executor API (agent_http.py) ------------------------------------------------

    def subscribe_executor(self, executor: Executor, subscribe: Json,
                           stream: EventStream) -> None:
        framework_id = executor.framework_id
        if framework_id in self.terminating or executor.state in ("TERMINATING",
                                                                   "TERMINATED"):
            stream.send({"type": "SHUTDOWN"})
            stream.close()
            return
        if executor.stream is not None:
            executor.stream.close()
        executor.state, executor.stream = "RUNNING", stream
        self.send_event(executor, {"type": "SUBSCRIBED", "subscribed": {
            "executor_info": executor.info, "framework_info": self.frameworks[framework_id],
            "agent_info": self.info(), "container_id": wire.wrap(executor.container_id)}})
        for update in subscribe.get("unacknowledged_updates", []):
            self.executor_update(executor, update["status"])
        known = {wire.value(t["task_id"]) for t in subscribe.get("unacknowledged_tasks", [])}
        aware = wire.has_capability(self.frameworks[framework_id], "PARTITION_AWARE")
        for task in self._tasks_of(executor):
            if (task.state == "TASK_STAGING" and task.id in executor.launched
                    and task.id not in known):
                self.agent_update(framework_id, task.id,
                                  "TASK_DROPPED" if aware else "TASK_LOST",
                                  "Task launched during agent restart",
                                  "REASON_AGENT_RESTARTED", executor.id)
        if not executor.ever_sent_task and not executor.queued:
            self.shutdown_executor(executor)
            return
        queued, executor.queued = executor.queued, {}
        for task_info in queued.values():
            self._deliver(executor, task_info)
        self.actor.later(self.config.executor_heartbeat_interval, self._heartbeat, executor,
                         stream)
        self._maybe_recovered()

    def _heartbeat(self, executor: Executor, stream: EventStream) -> None:
        if self.up and executor.stream is stream and not stream.closed:
            self.send_event(executor, {"type": "HEARTBEAT"})
            self.actor.later(self.config.executor_heartbeat_interval, self._heartbeat,
                             executor, stream)

    def executor_update(self, executor: Executor, status: Json) -> None:
        """An UPDATE from the executor: stamped, taken for delivery, acknowledged to it."""
        status["executor_id"] = wire.wrap(executor.id)
        container: Json = {"container_id": wire.wrap(executor.container_id),
                           "network_infos": [{"ip_addresses": [{"ip_address": "127.0.0.1"}]}]}
        if executor.process is not None:
            container["executor_pid"] = executor.process.pid
        status["container_status"] = container
        update = Update(executor.framework_id, status)
        self.status_update(update)
        self.send_event(executor, {"type": "ACKNOWLEDGED", "acknowledged": {
            "task_id": status["task_id"], "uuid": status["uuid"]}})

    def executor_message(self, executor: Executor, data: str) -> None:
        if self.master is not None and self.agent_id:
            self.master.executor_message(self.agent_id, executor.framework_id, executor.id,
                                         data)

    def stream_closed(self, stream: EventStream) -> None:
        for executor in self.all_executors():
            if executor.stream is stream:
                executor.stream = None

    def state(self) -> Json:
        """A compact /state of this agent."""
        return {
            "id": self.agent_id, "hostname": self.hostname, "pid": f"slave(1)@127.0.0.1:"
            f"{self.port}", "version": wire.VERSION, "resources": self.config.resources,
            "attributes": self.config.attributes, "registered": self.registered,
            "frameworks": [{
                "id": fid, "name": info.get("name"), "executors": [{
                    "id": e.id, "container": e.container_id, "directory": str(e.directory),
                    "state": e.state, "pid": e.process.pid if e.process else None,
                    "queued_tasks": sorted(e.queued),
                    "tasks": [{"id": t.id, "state": t.state} for t in self._tasks_of(e)],
                } for e in self.executors.get(fid, {}).values()],
                "completed_executors": list(self.completed.get(fid, ())),
            } for fid, info in self.frameworks.items()],
            "completed_frameworks": [
                {"id": fid, "completed_executors": list(done)}
                for fid, done in self.completed.items() if fid not in self.frameworks],
        }
