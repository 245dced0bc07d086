"""``aurora-executor`` as a Mesos agent runs it: a real process, a real task, a scripted agent.

Each test starts ``python -m executor.mesos`` in a Mesos-like sandbox with the environment a
real agent sets, against ``ScriptedAgent`` (``test_mesos_driver.py``), launches an Aurora
task through ``TaskInfo.data`` and reads the status updates the agent receives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.config.schema import (
    HealthCheckConfig,
    HealthCheckerConfig,
    Job,
    Process,
    Resources,
    ShellHealthChecker,
    Task,
)
from aurora_provider.config.wire import job_to_wire
from aurora_provider.mesos.task_data import AssignedTask
from executor.api import CheckpointReader
from executor.core import killer
from tests.eventually import eventually
from tests.executor.helpers import pid_alive
from tests.executor.test_mesos_driver import ScriptedAgent, task_info

pytestmark = pytest.mark.process

TASK_ID = "www-data-test-hello-0-1234"
RES = Resources(cpu=0.1, ram=1 << 20, disk=1 << 20)
WAIT_FOR_GO = "while [ ! -e go ]; do sleep 0.05; done"


def job_data(*processes: Any, **job: Any) -> str:
    task = Task(processes=list(processes), resources=RES, finalization_wait=5)
    j = Job(cluster="c", role="www-data", environment="test", name="hello", task=task, **job)
    return str(job_to_wire(j)["task"]["executor_config"]["data"])


def proc(name: str, cmdline: str, **kw: Any) -> Any:
    return Process(name=name, cmdline=cmdline, min_duration=0, **kw)


def assigned(data: str, **kw: Any) -> str:
    return AssignedTask(task_id=TASK_ID, instance=0, hostname="127.0.0.1", executor_data=data,
                        **kw).to_base64()  # fmt: skip


class Executors:
    """``aurora-executor`` processes in a sandbox of tmp_path; all stopped afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "checkpoints"
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, agent: ScriptedAgent, *args: str, checkpoint: bool = False,
              sandbox: str = "sandbox-0", **env_extra: str) -> subprocess.Popen[bytes]:
        directory = self.tmp_path / sandbox
        directory.mkdir(exist_ok=True)
        env = {**os.environ, **agent.env(checkpoint=checkpoint, **env_extra),
               "MESOS_SANDBOX": str(directory), "MESOS_DIRECTORY": str(directory)}
        with open(directory / "stdout", "ab") as out, open(directory / "stderr", "ab") as err:
            p = subprocess.Popen(
                [sys.executable, "-m", "executor.mesos", "--checkpoint-root", str(self.root),
                 "--ack-timeout", "30", "--nosetuid", *args],
                cwd=directory, env=env, stdout=out, stderr=err, start_new_session=True)
        self.started.append(p)
        return p

    def stderr(self, sandbox: str = "sandbox-0") -> str:
        return (self.tmp_path / sandbox / "stderr").read_text()

    def go(self, sandbox: str = "sandbox-0") -> None:
        """Let a process waiting for the file ``go`` in the task's sandbox end."""
        (self.tmp_path / sandbox / "sandbox" / "go").touch()

    def pid_of(self, process: str) -> int:
        def running() -> int | None:
            view = CheckpointReader(self.root).task(TASK_ID)
            runs = view.processes[process].runs if view and process in view.processes else ()
            return runs[-1].pid if runs and runs[-1].state == "RUNNING" else None

        pid = eventually(running, what=f"{process} running")
        assert pid is not None
        return pid

    def runner_pid(self) -> int | None:
        view = CheckpointReader(self.root).task(TASK_ID)
        return view.runner_pid if view is not None and view.runner_alive else None

    def close(self) -> None:
        for p in self.started:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        view = CheckpointReader(self.root).task(TASK_ID)
        if view is None:
            return
        if view.runner_alive and view.runner_pid is not None:
            killer.kill_trees([(view.runner_pid, None)], grace=0)
        targets = [(run.pid, None) for p in view.processes.values() for run in p.runs
                   if run.pid is not None and run.state == "RUNNING"]  # fmt: skip
        killer.kill_trees(targets, grace=0)


@pytest.fixture
def executors(tmp_path: Path) -> Iterator[Executors]:
    e = Executors(tmp_path)
    yield e
    e.close()


@pytest.fixture
def agent() -> Iterator[ScriptedAgent]:
    a = ScriptedAgent().start()
    yield a
    a.stop()


def states_reach(agent: ScriptedAgent, state: str) -> list[str]:
    """The states reported, once ``state`` is among them."""
    eventually(lambda: state in agent.states(), what=state)
    return agent.states()


def exited(p: subprocess.Popen[bytes]) -> int:
    return p.wait(60)


def session_members(sid: int) -> list[int]:
    """Live processes of a run's session (the run and whatever it left behind)."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members


def test_a_batch_task_starts_runs_and_finishes(agent: ScriptedAgent,
                                               executors: Executors) -> None:  # fmt: skip
    p = executors.start(agent, "--announcer-ensemble", "127.0.0.1:1")
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, assigned(job_data(proc("hello", WAIT_FOR_GO)))))
    assert states_reach(agent, "TASK_RUNNING") == ["TASK_STARTING", "TASK_RUNNING"]
    runner = executors.runner_pid()
    assert runner is not None  # the Announcer ensemble is passed on as the local path does
    assert "--announcer-ensemble\x00127.0.0.1:1" in Path(f"/proc/{runner}/cmdline").read_text()
    executors.go()
    assert exited(p) == 0
    assert agent.states() == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    starting, running, finished = agent.updates()
    assert (starting["message"], running["message"], finished["message"]) == (
        "Runner started", "Task running", "Task finished")
    assert all("reason" not in u and "healthy" not in u for u in agent.updates())
    assert (executors.tmp_path / "sandbox-0" / "sandbox" / ".logs" / "hello").is_dir()


def test_a_failing_process_fails_the_task_and_says_how(agent: ScriptedAgent,
                                                       executors: Executors) -> None:
    p = executors.start(agent)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, assigned(job_data(proc("boom", "sleep 0.2; exit 3")))))
    assert exited(p) == 0
    assert agent.states()[-1] == "TASK_FAILED"
    message = agent.updates()[-1]["message"]
    assert "boom" in message and "exit status 3" in message, message
    assert "reason" not in agent.updates()[-1]


def test_a_healthy_task_is_running_once_its_check_passed(agent: ScriptedAgent,
                                                         executors: Executors) -> None:
    check = HealthCheckConfig(health_checker=HealthCheckerConfig(
        shell=ShellHealthChecker(shell_command="true")), initial_interval_secs=0.1,
        interval_secs=0.1)  # fmt: skip
    executors.start(agent)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    data = job_data(proc("web", WAIT_FOR_GO), health_check_config=check)
    agent.launch(task_info(TASK_ID, assigned(data)))
    states_reach(agent, "TASK_RUNNING")
    running = agent.updates()[-1]
    assert (running["healthy"], running["message"]) == (True, "Task healthy")
    executors.go()
    states_reach(agent, "TASK_FINISHED")


def test_kill_ends_the_task_and_leaves_no_process(agent: ScriptedAgent,
                                                  executors: Executors) -> None:  # fmt: skip
    p = executors.start(agent)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, assigned(job_data(proc("sleeper", "sleep 1000")))))
    states_reach(agent, "TASK_RUNNING")
    pid = executors.pid_of("sleeper")
    agent.push({"type": "KILL", "kill": {"task_id": {"value": "someone-else"}}})
    states_reach(agent, "TASK_LOST")
    assert agent.updates()[-1]["task_id"] == {"value": "someone-else"}
    agent.push({"type": "KILL", "kill": {"task_id": {"value": TASK_ID}}})
    assert exited(p) == 0
    assert agent.states() == ["TASK_STARTING", "TASK_RUNNING", "TASK_LOST", "TASK_KILLED"]
    assert agent.updates()[-1]["message"] == "Task killed: the scheduler asked"
    assert session_members(pid) == []


def test_a_runner_that_dies_loses_the_task_and_leaves_no_process(
        agent: ScriptedAgent, executors: Executors) -> None:  # fmt: skip
    p = executors.start(agent)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, assigned(job_data(proc("sleeper", "sleep 1000")))))
    states_reach(agent, "TASK_RUNNING")
    pid, runner = executors.pid_of("sleeper"), executors.runner_pid()
    assert runner is not None
    os.kill(runner, signal.SIGKILL)
    assert exited(p) == 0
    lost = agent.updates()[-1]
    assert (lost["state"], lost["reason"]) == ("TASK_LOST", "REASON_EXECUTOR_TERMINATED")
    assert lost["message"].startswith("Runner exited without a terminal state (exit status -9)")
    assert session_members(pid) == []


def test_bad_task_data_fails_the_task_in_one_line(agent: ScriptedAgent,
                                                  executors: Executors) -> None:  # fmt: skip
    p = executors.start(agent)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, "not base64!"))
    assert exited(p) == 0
    (failed,) = agent.updates()
    assert (failed["state"], failed["reason"]) == ("TASK_FAILED", "REASON_TASK_INVALID")
    assert failed["message"].startswith("cannot start the task: task data is not base64")
    assert "\n" not in failed["message"]


def test_a_job_the_runner_refuses_fails_the_task(agent: ScriptedAgent,
                                                 executors: Executors) -> None:  # fmt: skip
    p = executors.start(agent)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    data = job_data(proc("web", "serve {{thermos.ports[http]}}"))  # no port assigned
    agent.launch(task_info(TASK_ID, assigned(data)))
    assert exited(p) == 0
    assert agent.states() == ["TASK_STARTING", "TASK_FAILED"]
    failed = agent.updates()[-1]
    assert failed["reason"] == "REASON_TASK_INVALID"
    assert failed["message"] == f"cannot run the task: task {TASK_ID}: no port assigned for http"


@pytest.mark.parametrize("how", ["SHUTDOWN", "SIGTERM"])
def test_shutdown_kills_the_task_reports_it_and_exits(agent: ScriptedAgent,
                                                      executors: Executors, how: str) -> None:
    p = executors.start(agent)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, assigned(job_data(proc("sleeper", "sleep 1000")))))
    states_reach(agent, "TASK_RUNNING")
    pid = executors.pid_of("sleeper")
    if how == "SHUTDOWN":
        agent.push({"type": "SHUTDOWN"})
    else:
        p.send_signal(signal.SIGTERM)
    assert exited(p) == 0
    assert agent.states()[-1] == "TASK_KILLED"
    assert agent.updates()[-1]["message"] == ("Task killed: the executor is shutting down"
                                              if how == "SHUTDOWN" else
                                              "Task killed: the executor received SIGTERM")
    assert not pid_alive(pid)


def test_a_task_that_will_not_stop_is_killed_within_the_grace_period(
        agent: ScriptedAgent, executors: Executors) -> None:  # fmt: skip
    p = executors.start(agent, MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="4secs")
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    stubborn = proc("stubborn", "trap '' TERM; sleep 1000")  # outlasts the grace period
    agent.launch(task_info(TASK_ID, assigned(job_data(stubborn))))
    states_reach(agent, "TASK_RUNNING")
    pid = executors.pid_of("stubborn")
    agent.push({"type": "SHUTDOWN"})
    assert exited(p) == 0
    assert agent.states()[-1] == "TASK_KILLED"
    assert session_members(pid) == []  # the sleep that ignored SIGTERM too


def test_without_checkpointing_a_lost_agent_ends_the_executor_and_its_task(
        agent: ScriptedAgent, executors: Executors) -> None:  # fmt: skip
    p = executors.start(agent, checkpoint=False)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, assigned(job_data(proc("sleeper", "sleep 1000")))))
    states_reach(agent, "TASK_RUNNING")
    pid = executors.pid_of("sleeper")
    agent.stop()
    assert exited(p) == 0
    assert not pid_alive(pid)
    view = CheckpointReader(executors.root).task(TASK_ID)
    assert view is not None and view.state == "KILLED"


def test_with_checkpointing_the_task_carries_on_across_an_agent_restart(
        agent: ScriptedAgent, executors: Executors) -> None:  # fmt: skip
    p = executors.start(agent, checkpoint=True)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, assigned(job_data(proc("hello", WAIT_FOR_GO)))))
    states_reach(agent, "TASK_RUNNING")
    pid = executors.pid_of("hello")
    agent.stop()
    agent.start()  # the agent comes back on the same port
    eventually(lambda: len(agent.subscriptions()) == 2, what="subscribed again")
    assert pid_alive(pid) and p.poll() is None
    executors.go()
    assert exited(p) == 0
    assert agent.states()[-1] == "TASK_FINISHED"


def test_a_new_executor_for_a_running_task_re_attaches_to_its_runner(
        agent: ScriptedAgent, executors: Executors) -> None:  # fmt: skip
    first = executors.start(agent)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    agent.launch(task_info(TASK_ID, assigned(job_data(proc("hello", WAIT_FOR_GO)))))
    states_reach(agent, "TASK_RUNNING")
    runner, pid = executors.runner_pid(), executors.pid_of("hello")
    first.kill()  # the executor dies; its runner, in a session of its own, lives on
    first.wait()

    second = executors.start(agent, "--recover")
    eventually(lambda: len(agent.states()) >= 4, what="the second executor's reports")
    assert agent.states()[2:] == ["TASK_STARTING", "TASK_RUNNING"]
    assert agent.updates()[2]["message"] == "Re-attached to the task's runner"
    assert (executors.runner_pid(), executors.pid_of("hello")) == (runner, pid)
    executors.go()
    assert exited(second) == 0
    assert agent.states()[-1] == "TASK_FINISHED"


def test_outside_an_agent_it_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
    done = subprocess.run([sys.executable, "-m", "executor.mesos"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("aurora-executor: MESOS_AGENT_ENDPOINT is not set: ")
    assert done.stderr.count("\n") == 1


def test_the_checkpoint_root_is_the_flag_then_the_environment(tmp_path: Path) -> None:
    from executor.mesos.main import checkpoint_root

    env = {"AURORA_CHECKPOINT_ROOT": str(tmp_path / "env")}
    assert checkpoint_root(str(tmp_path / "flag"), env, tmp_path) == tmp_path / "flag"
    assert checkpoint_root(None, env, tmp_path) == tmp_path / "env"
