"""The embedded backend: this machine is the one agent; each task is its own runner process.

A runner is started from ``executor.api.runner_argv`` in its own session (detached, so it
outlives a scheduler restart), with the sandbox and checkpoints under the work dir. Its
checkpoint, read through ``executor.api.CheckpointReader``, says how the task is doing:

    runner started                      -> STARTING
    ACTIVE and health healthy or none   -> RUNNING
    SUCCESS / FAILED / KILLED / LOST    -> FINISHED / FAILED / KILLED / LOST
    runner gone without a terminal state -> LOST (KILLED when a kill was asked for)

With ``setuid`` (the daemon sets it when the scheduler runs as root, unless --nosetuid)
each runner is told ``--setuid ROLE``: the task's processes run as its role's Unix user, as
in Aurora, and cannot read the scheduler's files; a role with no such user fails the task.

Runners are given the scheduler's ZooKeeper for Announcers (``--announcer-ensemble``, and
the serversets' root, ``--announcer-zk-path-prefix``), as the Mesos backend's task data
gives them to its executors. A job with a container image runs only when the scheduler has
a container runtime (``--container-runtime``): each process then runs in the image
(``executor.core.containers``), and whatever containers a task leaves are removed when it
ends; without one such a job is refused at create, update and cron schedule (``refusal``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import psutil

from aurora_provider.framework.backends.base import Launch, LogRead, StatusUpdate, XcomRead
from aurora_provider.framework.backends.local.environment import runner_environment
from aurora_provider.framework.backends.local.executor import (
    ExecutorApi,
    RunnerView,
    load_executor,
)
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.placement.offers import Offer
from aurora_provider.states.executor_task import ExecutorTaskState as X
from aurora_provider.states.health import READY, HealthState
from aurora_provider.states.task import TERMINAL, TaskState
from executor.api import (
    XCOM_FILE,
    InvalidTask,
    OutsideSandbox,
    TaskPaths,
    TaskUser,
    logs_listing,
    open_inside,
    run_log_dir,
    untraversable,
)

log = logging.getLogger(__name__)
S = TaskState
T = TypeVar("T")

# How the executor's end of a task reads as the scheduler's.
_TERMINAL_MAP = {X.SUCCESS: S.FINISHED, X.FAILED: S.FAILED, X.KILLED: S.KILLED, X.LOST: S.LOST}
# How long ``stop()`` waits for kills in flight: a stopping scheduler exits promptly.
STOP_WAIT_SECS = 1.0
# How long removing an ended task's containers may take.
CONTAINER_REMOVAL_SECS = 60.0
# Any user but the scheduler's: who must be able to reach the sandboxes under the work dir.
OTHERS = TaskUser("others", -1, -1, ())


@dataclass(frozen=True)
class Capacity:
    """What the local agent offers (the daemon fills it from this machine or from flags)."""

    cpu: float
    ram_mb: float
    disk_mb: float
    port_ranges: tuple[tuple[int, int], ...] = ((31000, 32000),)


@dataclass(frozen=True)
class Announcement:
    """Where runners announce their tasks' serversets (``--announcer-ensemble``)."""

    ensemble: str | None = None
    zk_path_prefix: str | None = None


def container_of(config: JobConfig) -> dict[str, Any] | None:
    """The job's container when it has an image to run (``Mesos()`` alone runs on the host,
    as Aurora sent no ContainerInfo for it), else None."""
    container = config.wire["task"].get("container") or {}
    if container.get("docker") or (container.get("mesos") or {}).get("image"):
        return dict(container)
    return None


@dataclass
class _Tracked:
    launch: Launch
    proc: subprocess.Popen[bytes] | None
    pid: int | None
    create_time: float | None
    reported: TaskState | None = None
    kill_requested: bool = False
    # The last view read and the checkpoint's (mtime, size) then: unchanged files are not
    # replayed again on every round.
    view: RunnerView | None = None
    view_key: tuple[int, int] | None = None
    # The runner is gone without a terminal state: its processes may be left running.
    vanished: bool = False


def _alive(pid: int | None, create_time: float | None) -> bool:
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        if create_time is not None and abs(proc.create_time() - create_time) > 1.0:
            return False  # the pid was reused
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _tail(path: Path, limit: int = 300) -> str:
    try:  # the runner's log sits where the task can write too: never follow a link out
        with open_inside(path.parent, path) as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - limit))
            data = f.read().decode(errors="replace").strip()
    except (OSError, OutsideSandbox):
        return ""
    return " ".join(data.split())


class LocalBackend:
    name = "local"

    def __init__(self, *, work_dir: Path, hostname: str, capacity: Capacity,
                 attributes: dict[str, str] | None = None,
                 executor: ExecutorApi | None = None, agents: int = 1,
                 setuid: bool = False, announcer: Announcement | None = None,
                 container_runtime: str | None = None) -> None:
        """:param setuid: run each task as its role's Unix user (the scheduler is root).
        :param announcer: the ZooKeeper runners announce tasks in (None: they do not).
        :param container_runtime: the ``podman`` / ``docker`` binary containers run with."""
        self.work_dir = work_dir
        self.setuid = setuid
        self.announcer = announcer or Announcement()
        self.container_runtime = container_runtime
        self.hostname = hostname
        self.agent_id = f"local-{hostname}"
        # Several agents on this one machine (HOSTNAME-0..N-1) split its capacity evenly, so
        # maintenance can drain one host onto another; ports stay shared between them.
        self.agents: list[tuple[str, str]] = (
            [(self.agent_id, hostname)] if agents <= 1 else
            [(f"local-{hostname}-{i}", f"{hostname}-{i}") for i in range(agents)])
        self.capacity = capacity
        self.attributes = dict(attributes or {})
        self.checkpoint_root = work_dir / "checkpoints"
        self.tasks_dir = work_dir / "tasks"
        self._executor = executor
        self._tracked: dict[str, _Tracked] = {}
        self._updates: list[StatusUpdate] = []
        self._lock = threading.Lock()
        self._killers: list[threading.Thread] = []

    @property
    def executor(self) -> ExecutorApi:
        if self._executor is None:
            self._executor = load_executor(self.checkpoint_root)
        return self._executor

    def start(self) -> None:
        self.checkpoint_root.mkdir(parents=True, exist_ok=True)
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        blocked = untraversable(self.tasks_dir, OTHERS) if self.setuid else None
        if blocked is not None:  # every task would fail (each says why, in one line)
            log.warning("local backend: tasks run as their role's user, who cannot reach "
                        "their sandboxes: %s is not searchable by other users; chmod o+x it "
                        "or choose a --work-dir elsewhere (or --nosetuid)", blocked)

    def stop(self) -> None:
        """Stop watching: runners are detached and re-attached on the next start. Kills
        already asked for are seen through for a moment (those of live runners only
        signal); a dead runner's processes still being killed when the process exits are
        found again, from their checkpoint, by the next start's ``reconcile``."""
        with self._lock:
            killers, self._killers = self._killers, []
        deadline = time.monotonic() + STOP_WAIT_SECS
        for thread in killers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # -- offers ----------------------------------------------------------------------------

    def offers(self) -> list[Offer]:
        n = len(self.agents)
        free = {agent_id: [self.capacity.cpu / n, self.capacity.ram_mb / n,
                           self.capacity.disk_mb / n] for agent_id, _ in self.agents}
        used_ports: set[int] = set()
        with self._lock:
            for t in self._tracked.values():
                left = free.get(t.launch.agent_id) or free[self.agents[0][0]]
                left[0] -= t.launch.cpu
                left[1] -= t.launch.ram_mb
                left[2] -= t.launch.disk_mb
                used_ports.update(t.launch.ports.values())
        return [Offer(
            offer_id=str(uuid.uuid4()), agent_id=agent_id, hostname=hostname,
            cpu=free[agent_id][0], ram_mb=free[agent_id][1], disk_mb=free[agent_id][2],
            port_ranges=list(self.capacity.port_ranges), attributes=dict(self.attributes),
            used_ports=set(used_ports)) for agent_id, hostname in self.agents]

    # -- launching ---------------------------------------------------------------------------

    def _task_dir(self, task_id: str) -> Path:
        return self.tasks_dir / task_id

    def launch(self, launches: Sequence[Launch]) -> None:
        for launch in launches:
            try:
                tracked = self._spawn(launch)
            except InvalidTask as e:  # the task cannot be bound: a rerun would fail the same
                self._report(launch.task_id, S.FAILED, f"cannot start the task: {e}")
                continue
            except Exception as e:  # any other launch failure is reported, never raised
                self._report(launch.task_id, S.LOST, f"cannot start the runner: {e}")
                continue
            with self._lock:
                self._tracked[launch.task_id] = tracked
            self._report(launch.task_id, S.STARTING, "Runner started")
            tracked.reported = S.STARTING

    def refusal(self, config: JobConfig) -> str | None:
        """Why this backend cannot run ``config``: a container image without a runtime, or
        an image the runtime cannot run."""
        container = container_of(config)
        if container is None:
            return None
        if self.container_runtime is None:
            return ("its container needs a container runtime: start the scheduler with "
                    "--container-runtime podman|docker, or drop the container")
        try:
            self.executor.container_image(container)
        except InvalidTask as e:
            return str(e)
        return None

    def _spawn(self, launch: Launch) -> _Tracked:
        container = container_of(launch.config)
        problem = self.refusal(launch.config) if container is not None else None
        if problem:  # a job stored before the scheduler lost its runtime
            raise InvalidTask(problem)
        task_dir = self._task_dir(launch.task_id)
        sandbox = task_dir / "sandbox"
        sandbox.mkdir(parents=True, exist_ok=True)
        job_file = task_dir / "job.json"
        job_file.write_text(launch.config.task.executor_data)
        argv = self.executor.runner_argv(
            executor_data=str(job_file), task_id=launch.task_id, instance=launch.instance,
            hostname=launch.hostname, ports=dict(launch.ports), sandbox=str(sandbox),
            checkpoint_root=str(self.checkpoint_root),
            setuid=launch.config.key.role if self.setuid else None,
            announcer_ensemble=self.announcer.ensemble,
            announcer_zk_path_prefix=self.announcer.zk_path_prefix,
            container=container, container_runtime=self.container_runtime)
        with open(task_dir / "runner.log", "ab") as out:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=task_dir, start_new_session=True, close_fds=True,
                env=runner_environment(os.environ))
        create_time = _create_time(proc.pid)
        (task_dir / "runner.json").write_text(
            json.dumps({"pid": proc.pid, "create_time": create_time}))
        return _Tracked(launch, proc, proc.pid, create_time)

    def _report(self, task_id: str, state: TaskState, message: str | None) -> None:
        with self._lock:
            self._updates.append(StatusUpdate(task_id, state, message))

    # -- killing -----------------------------------------------------------------------------

    def kill(self, task_ids: Sequence[str]) -> None:
        if not task_ids:
            return
        with self._lock:
            for task_id in task_ids:
                tracked = self._tracked.get(task_id)
                if tracked is not None:
                    tracked.kill_requested = True
        # The executor's kill waits for the task's shutdown; never block the round on it.
        killer = threading.Thread(target=self._kill_all, args=(list(task_ids),), daemon=True,
                                  name="local-kill")
        with self._lock:
            self._killers = [t for t in self._killers if t.is_alive()]
            self._killers.append(killer)
        killer.start()

    def _kill_all(self, task_ids: list[str]) -> None:
        for task_id in task_ids:
            try:
                self.executor.kill_task(task_id)
            except Exception as e:  # the runner may be gone or not checkpointing yet
                log.info("kill of %s through the executor failed (%s); signalling", task_id, e)
                with self._lock:
                    tracked = self._tracked.get(task_id)
                if tracked is not None and _alive(tracked.pid, tracked.create_time):
                    with contextlib.suppress(OSError):
                        os.killpg(tracked.pid or 0, signal.SIGTERM)

    # -- observing ----------------------------------------------------------------------------

    def poll(self) -> list[StatusUpdate]:
        with self._lock:
            tracked = list(self._tracked.items())
        for task_id, t in tracked:
            if t.proc is not None:
                t.proc.poll()  # reap our child when it exits
            state, message = self._observe(task_id, t)
            if state is not None and state != t.reported:
                t.reported = state
                self._report(task_id, state, message)
            if state in TERMINAL:
                with self._lock:
                    self._tracked.pop(task_id, None)
                if t.vanished:
                    self._kill_orphans([task_id])
                if self.container_runtime is not None and container_of(t.launch.config):
                    self._remove_containers(self.container_runtime, task_id)
        with self._lock:
            updates, self._updates = self._updates, []
        return updates

    def _kill_orphans(self, task_ids: list[str]) -> None:
        """Kill what dead runners left running: the executor finds the task's process trees
        from its checkpoint (pids with their start times, so a reused pid is never hit),
        kills them and records the task KILLED. The scheduler's record of the task is
        already terminal."""
        killer = threading.Thread(target=self._kill_all, args=(task_ids,), daemon=True,
                                  name="local-orphans")
        with self._lock:
            self._killers = [k for k in self._killers if k.is_alive()]
            self._killers.append(killer)
        killer.start()

    def _remove_containers(self, runtime: str, task_id: str) -> None:
        """Remove what containers the ended task left (a run killed with SIGKILL leaves
        its container running: its runtime client could not stop it)."""
        argv = self.executor.container_removal_argv(runtime, task_id)

        def remove() -> None:
            try:
                subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=CONTAINER_REMOVAL_SECS, check=True)
            except (OSError, subprocess.SubprocessError) as e:
                log.warning("could not remove the containers of %s: %s", task_id, e)

        remover = threading.Thread(target=remove, daemon=True, name="local-containers")
        with self._lock:
            self._killers = [k for k in self._killers if k.is_alive()]
            self._killers.append(remover)
        remover.start()

    def _view(self, task_id: str, t: _Tracked) -> RunnerView | None:
        try:
            st = TaskPaths(self.checkpoint_root, task_id).stream.stat()
            key: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if key is None or key != t.view_key:
            t.view = self.executor.task(task_id)
            t.view_key = key
        return t.view

    def _runner_up(self, task_id: str, t: _Tracked) -> bool:
        """Whether the task's runner lives, judged now: by the pid and start time we hold,
        else by a fresh read of the checkpoint. Never by the cached view, whose
        ``runner_alive`` was true when read and stays so while the dead runner's checkpoint
        does not change (a kill -9'd runner was watched as RUNNING for ever)."""
        if t.pid is not None:
            return _alive(t.pid, t.create_time)
        view = self.executor.task(task_id)
        return view is not None and view.runner_alive

    def _observe(self, task_id: str, t: _Tracked) -> tuple[TaskState | None, str | None]:
        view = self._view(task_id, t)
        runner_up = self._runner_up(task_id, t)
        if not runner_up:
            # The runner may have checkpointed its terminal state and exited between the read
            # above and the liveness check: read again before calling the task lost.
            t.view_key = None
            view = self._view(task_id, t)
        if view is None:
            return (t.reported or S.STARTING, None) if runner_up else self._vanished(t)
        state = X(view.state)
        if state in _TERMINAL_MAP:
            return _TERMINAL_MAP[state], view.message or f"Task {state}"
        if not runner_up:
            return self._vanished(t)
        if view.state == X.ACTIVE and view.health in READY:
            return S.RUNNING, ("Task running" if view.health == HealthState.NONE
                               else "Task healthy")
        return t.reported or S.STARTING, None

    def _vanished(self, t: _Tracked) -> tuple[TaskState, str]:
        t.vanished = True
        if t.kill_requested:
            return S.KILLED, "Runner stopped on request"
        detail = _tail(self._task_dir(t.launch.task_id) / "runner.log")
        return S.LOST, "Runner exited without a terminal state" + (f": {detail}" if detail
                                                                      else "")

    # -- recovery ----------------------------------------------------------------------------

    def reconcile(self, running: Sequence[Launch]) -> list[StatusUpdate]:
        lost: list[StatusUpdate] = []
        orphaned: list[str] = []
        unspawned: list[Launch] = []
        for launch in running:
            with self._lock:
                if launch.task_id in self._tracked:
                    continue  # watched already (an admin's reconcile): poll reports it
            pid, create_time = self._runner_record(launch.task_id)
            view = self.executor.task(launch.task_id)
            if pid is None and view is None:
                # No runner record and no checkpoint: the scheduler stopped between
                # committing the launch and spawning (or recording) the runner.
                unspawned.append(launch)
                continue
            terminal = view is not None and view.state in _TERMINAL_MAP
            runner_up = view is not None and view.runner_alive
            if pid is None and runner_up and view is not None and view.runner_pid is not None:
                # Spawned but not recorded: the checkpoint's pid, just found alive with its
                # recorded start time, is the runner; hold it by its start time from now on.
                pid, create_time = view.runner_pid, _create_time(view.runner_pid)
            if terminal or runner_up or _alive(pid, create_time):
                with self._lock:
                    self._tracked[launch.task_id] = _Tracked(launch, None, pid, create_time)
            else:
                lost.append(StatusUpdate(launch.task_id, S.LOST,
                                         "Runner vanished while the scheduler was down"))
                if view is not None:
                    orphaned.append(launch.task_id)
        self._launch_unspawned(unspawned)
        # Runners of tasks the scheduler does not know (any more) are reported as running,
        # so the core stops them, as Aurora kills unknown tasks; a dead runner's task left
        # unfinished in its checkpoint may have left processes: those are killed.
        known = {launch.task_id for launch in running}
        for task_id in self.executor.task_ids():
            if task_id in known:
                continue
            view = self.executor.task(task_id)
            if view is None or view.state in _TERMINAL_MAP:
                continue
            if view.runner_alive:
                lost.append(StatusUpdate(task_id, S.RUNNING, "Unknown task found running"))
            else:
                orphaned.append(task_id)
        if orphaned:
            self._kill_orphans(orphaned)
        return lost

    def _launch_unspawned(self, launches: list[Launch]) -> None:
        """Start the runners of tasks whose launch was committed but never carried out: they
        never ran, so they are launched now, not reported lost (which would count against an
        update and throttle them as flapping). A runner spawned but not yet recorded is
        found by its command line and adopted instead of started twice."""
        if not launches:
            return
        found = self._runners_by_task({launch.task_id for launch in launches})
        fresh = []
        for launch in launches:
            pid = found.get(launch.task_id)
            create_time = _create_time(pid) if pid is not None else None
            if pid is None or create_time is None:
                fresh.append(launch)
                continue
            log.info("adopting runner %d of %s, spawned but not recorded", pid, launch.task_id)
            (self._task_dir(launch.task_id) / "runner.json").write_text(
                json.dumps({"pid": pid, "create_time": create_time}))
            with self._lock:
                self._tracked[launch.task_id] = _Tracked(launch, None, pid, create_time)
        if fresh:
            log.info("launching %d tasks assigned but never started before a restart",
                     len(fresh))
            self.launch(fresh)

    def _runners_by_task(self, task_ids: set[str]) -> dict[str, int]:
        """Runner processes of this work dir for ``task_ids``, by their command line."""
        root = str(self.checkpoint_root)
        found: dict[str, int] = {}
        for proc in psutil.process_iter(["pid", "cmdline"]):
            argv = proc.info["cmdline"] or []
            if "--task-id" not in argv or root not in argv:
                continue
            i = argv.index("--task-id")
            if i + 1 < len(argv) and argv[i + 1] in task_ids:
                found[argv[i + 1]] = int(proc.info["pid"])
        return found

    def _runner_record(self, task_id: str) -> tuple[int | None, float | None]:
        try:
            data = json.loads((self._task_dir(task_id) / "runner.json").read_text())
            return int(data["pid"]), data.get("create_time")
        except (OSError, ValueError, KeyError, TypeError):
            return None, None

    # -- logs ----------------------------------------------------------------------------------

    def task_logs(self, task_id: str) -> dict[str, Any] | None:
        view = self.executor.task(task_id)
        if view is None:
            return None
        return logs_listing(task_id, view.sandbox, view.processes)

    def task_log(self, task_id: str, process: str, run: int, stream: str,
                 tail_bytes: int) -> str | None:
        def tail(f: BinaryIO) -> str:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - tail_bytes))
            return f.read().decode(errors="replace")

        return self._with_log(task_id, process, run, stream, tail)

    def read_task_log(self, task_id: str, process: str, run: int, stream: str,
                      offset: int, limit: int) -> LogRead | None:
        def read(f: BinaryIO) -> LogRead:
            size = f.seek(0, os.SEEK_END)
            if offset >= size:
                return LogRead(offset, offset, size, b"")
            f.seek(offset)
            data = f.read(limit)
            end = offset + len(data)
            return LogRead(offset, end, max(size, end), data)  # it may grow as we read

        return self._with_log(task_id, process, run, stream, read)

    def read_xcom(self, task_id: str, limit: int) -> XcomRead | None:
        if self.executor.task(task_id) is None:
            return None
        read = self._inside_sandbox(
            task_id, self._sandbox(task_id) / XCOM_FILE, "result",
            lambda f: XcomRead(os.fstat(f.fileno()).st_size, f.read(limit)))
        return XcomRead(None, b"") if read is None else read

    def _with_log(self, task_id: str, process: str, run: int, stream: str,
                  use: Callable[[BinaryIO], T]) -> T | None:
        """``use`` of one run's stream opened for reading, or None when it is not there."""
        view = self.executor.task(task_id)
        if view is None or view.log_dir is None or process not in view.processes:
            return None
        path = run_log_dir(Path(view.log_dir), process, run) / stream
        return self._inside_sandbox(task_id, path, "log", use)

    def _sandbox(self, task_id: str) -> Path:
        # The sandbox this backend made, not one the checkpoint names: a task may rewrite
        # both its checkpoint and its sandbox, and a file linked out of it is not served.
        return self._task_dir(task_id) / "sandbox"

    def _inside_sandbox(self, task_id: str, path: Path, what: str,
                        use: Callable[[BinaryIO], T]) -> T | None:
        """``use`` of ``path`` opened for reading inside the task's sandbox, or None when it
        is not there or leads out of the sandbox (logged: a task planted the link)."""
        try:
            with open_inside(self._sandbox(task_id), path) as f:
                return use(f)
        except OutsideSandbox as e:
            log.warning("%s of task %s not served: %s", what, task_id, e)
            return None
        except OSError:
            return None

    def runner_pids(self) -> list[int]:
        """Pids of runners this backend tracks (tests use it to clean up)."""
        with self._lock:
            return [t.pid for t in self._tracked.values() if t.pid is not None]


def _create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None
