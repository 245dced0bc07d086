"""The task runner: drives one task through its stages, recording every change.

Each stage (``stages.py``) says how long the loop may sleep before it needs to run again,
or None when it is done (then the task moves on). The loop sleeps in ``clock.wait`` on the
runs' pidfds, log pipes and a wake-up pipe (signals and the health checker write to it), so
a run's exit is handled at once without polling. Beside the processes run the status
checkers (``executor.services``), polled once per turn of the loop; what they report
(a health verdict, a failure) becomes a record or a stop, through the dispatcher.

On start the runner replays the checkpoint with the same dispatcher it uses live, takes the
task's lock, re-attaches to runs still alive (same pid and start time), settles runs that
ended meanwhile from their exit-code files, and marks the rest LOST (they run again).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aurora_provider.states.executor_task import TERMINAL, ExecutorTaskState
from aurora_provider.states.process_run import LIVE, ProcessState

from ..enforcement import Enforcement
from ..errors import CheckpointError, InvalidTask
from ..services import compose
from ..services.checker import Checkers, Status, StatusChecker
from . import checkpoint, procfs
from .checkpoint import StreamWriter, TaskLock
from .clock import Clock, RealClock
from .dispatcher import Dispatcher, ProcessRun, RecordedTask
from .launch import process_env
from .paths import TaskPaths, write_json_atomic, xcom_path
from .planner import Planner
from .records import HeaderRecord, HealthRecord, Record, RunnerRecord, TaskStateRecord
from .runs import Runs
from .spec import TaskSpec
from .stages import Stages
from .supervisor import Supervisor
from .users import TaskUser, give_sandbox, recorded_user, runner_user

if TYPE_CHECKING:
    from .cgroups import TaskCgroup, Unavailable

T = ExecutorTaskState


class Runner:
    def __init__(
        self,
        spec: TaskSpec,
        checkpoint_root: Path,
        task_id: str,
        *,
        sandbox: Path,
        ports: dict[str, int] | None = None,
        hostname: str | None = None,
        clock: Clock | None = None,
        announcer_ensemble: str | None = None,
        sample_interval: float = 10.0,
        enforcement: Enforcement | None = None,
        preserve_env: bool = False,
        quiet: bool = False,
        serving: Sequence[StatusChecker] | None = None,
        watching: Sequence[StatusChecker] | None = None,
        user: TaskUser | None = None,
        cgroup_parent: Callable[[], Path | Unavailable] | None = None,
    ) -> None:
        """Load the task's checkpoint (if any) and compose its status checkers.

        :param serving: checkers that watch the task while it is ACTIVE; by default health,
            announcer and lifecycle, as the spec asks (``services.compose``).
        :param watching: checkers that run as long as the runner; by default resource
            samples (failing the task over its disk), the OOM watch of its cgroup, and log
            rotation.
        :param user: who the task's processes run as (``users.task_user``); by default
            the runner's own user.
        :param enforcement: which of the task's resources are enforced, and how often its
            disk use is measured; RAM and CPU limits are set up when the task runs.
        :param cgroup_parent: finds the cgroup v2 group tasks' groups are made in, or why
            there is none; by default ``cgroups.detect`` (this process's own group).
        """
        self.spec = spec
        self.paths = TaskPaths(Path(checkpoint_root), task_id)
        self.sandbox = Path(sandbox)
        self.log_dir = self.sandbox / ".logs"
        self.ports = dict(ports or {})
        self.hostname = hostname or os.uname().nodename
        self.clock: Clock = clock or RealClock()
        self.user = user or runner_user()
        self._env = process_env(self.sandbox, preserve_env, self.user)
        self._quiet = quiet
        self.regular = Planner([p for p in spec.processes if not p.final], spec.order)
        self.finalizing = Planner([p for p in spec.processes if p.final], spec.order)
        self.record = RecordedTask()
        self.dispatcher = Dispatcher(self.record)
        self.dispatcher.listen(self)
        self.supervisor = Supervisor()
        self.runs = Runs(
            spec, self.paths, sandbox=self.sandbox, log_dir=self.log_dir, env=self._env,
            as_user=self.user.prefix(), clock=self.clock, supervisor=self.supervisor,
            record=self.record, apply=self._apply, log=self.log,
        )  # fmt: skip
        self.serving = Checkers(serving) if serving is not None else compose.serving(
            spec, sandbox=self.sandbox, env=self._env, as_user=self.user.prefix(),
            hostname=self.hostname, ensemble=announcer_ensemble, log=self.log,
            wake=self._wake)  # fmt: skip
        # Composed by _start, once the task's cgroup (which the OOM watch reads) is made.
        self._given_watching = watching
        self._sample_interval = sample_interval
        self.enforcement = enforcement or Enforcement()
        self.watching = Checkers(())
        self.cgroup: TaskCgroup | None = None
        self._cgroup_parent = cgroup_parent
        self.stages = Stages(self)
        scan = checkpoint.scan(self.paths.stream)
        if scan.error is not None:
            raise scan.error
        self._scan = scan
        self.dispatcher.replay(scan.records)
        self._writer: StreamWriter | None = None
        self._lock = TaskLock(self.paths.lock)
        self.forced: ExecutorTaskState | None = None  # the end a stop asked for
        self.forced_reason: str | None = None
        self.stop_asked = False
        self.serving_status: Status | None = None  # the serving checkers' last word
        self._wake_r = self._wake_w = -1
        self._signals = False

    # ------------------------------------------------------------------ listener
    def _plan_of(self, process: str) -> Planner:
        return self.finalizing if self.spec.process(process).final else self.regular

    def on_process(self, run: ProcessRun, live: bool) -> None:
        plan = self._plan_of(run.process)
        when = run.stop_time if run.stop_time is not None else self.clock.time()
        if run.state in LIVE:
            plan.set_running(run.process)
        elif run.state is ProcessState.SUCCESS:
            plan.add_success(run.process, when)
        elif run.state is ProcessState.FAILED:
            plan.add_failure(run.process, when)
        elif run.state in (ProcessState.KILLED, ProcessState.LOST):
            plan.lost(run.process)

    def on_task(self, state: ExecutorTaskState, live: bool) -> None:
        self.stages.entered(state, self.record.statuses[-1][1])
        if not live:
            return
        if state is T.CLEANING:
            self.serving.stop()
            self.supervisor.terminate(list(self.supervisor.handles))
        elif state is T.FINALIZING or state in TERMINAL:
            self.runs.kill_everything()

    # ------------------------------------------------------------------ recording
    def log(self, message: str) -> None:
        if not self._quiet:
            stamp = time.strftime("%H:%M:%S")
            sys.stderr.write(f"{stamp} thermos[{self.paths.task_id}] {message}\n")
            sys.stderr.flush()

    def _apply(self, record: Record) -> None:
        self.dispatcher.apply(record)

    def set_task(self, state: ExecutorTaskState, reason: str | None = None) -> None:
        self.log(f"task {state.value}" + (f": {reason}" if reason else ""))
        self._apply(TaskStateRecord(state, self.clock.time(), reason))

    @property
    def state(self) -> ExecutorTaskState:
        return self.record.state

    def is_terminal(self) -> bool:
        return self.record.state in TERMINAL

    # ------------------------------------------------------------------ control
    def request_stop(self, terminal: ExecutorTaskState = T.KILLED,
                     reason: str | None = None) -> None:  # fmt: skip
        """Tear the task down: the serving checkers stop (graceful shutdown), then CLEANING."""
        if self.stop_asked or self.is_terminal():
            return
        self.stop_asked = True
        self.forced = terminal
        self.forced_reason = reason

    def kill(self, grace: float, terminal: ExecutorTaskState = T.KILLED) -> ExecutorTaskState:
        """Kill a task whose runner is gone: SIGTERM, ``grace`` s for it and final processes."""
        self.request_stop(terminal, "killed")
        self.stages.deadline = self.clock.time() + grace
        return self.run()

    def run(self) -> ExecutorTaskState:
        """Run (or resume) the task until it is terminal; its terminal state."""
        if self.is_terminal():
            return self.state
        self._lock.acquire()
        try:
            self._writer = StreamWriter(
                self.paths.stream, self._scan.good_bytes, len(self._scan.records)
            )
            self.dispatcher.set_writer(self._writer.append)
            self._start()
            self._loop()
        finally:
            self._teardown()
        return self.state

    def _make_xcom_dir(self) -> None:
        """The folder of ``$AURORA_XCOM_FILE``, there before any process starts, the task
        user's (a process writes the file; it need not make the folder)."""
        folder = Path(xcom_path(self.sandbox)).parent
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
        if self.user.switched:
            os.chown(folder, self.user.uid, self.user.gid, follow_symlinks=False)

    def _start(self) -> None:
        if self.record.header is None:
            self.paths.dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.paths.task_json, json.loads(self.spec.to_json()))
            self._apply(HeaderRecord(
                task_id=self.paths.task_id, launch_time=self.clock.time(),
                sandbox=str(self.sandbox), log_dir=str(self.log_dir), hostname=self.hostname,
                user=self._env["USER"], ports=self.ports, job_key=self.spec.job_key,
                instance=self.spec.instance, health_checked=self.spec.health is not None,
            ))  # fmt: skip
        self.sandbox.mkdir(parents=True, exist_ok=True)
        unusable = give_sandbox(self.sandbox, self.user)
        if unusable is None:
            self._make_xcom_dir()
        pid = os.getpid()
        self._apply(RunnerRecord(pid, procfs.create_time(pid), self.clock.time()))
        if unusable is not None and self.state is T.ACTIVE and not self.record.live_runs():
            # Nothing can run there (final processes neither): fail now, in one line.
            self.set_task(T.CLEANING)
            self.set_task(T.FAILED, unusable)
            return
        self.cgroup = self._limit_resources()
        self.runs.cgroup_procs = self.cgroup.procs if self.cgroup is not None else None
        self.watching = Checkers(self._given_watching) if self._given_watching is not None \
            else compose.watching(
                self.spec, sandbox=self.sandbox, log_dir=self.log_dir,
                resources=self.paths.resources, sample_interval=self._sample_interval,
                disk_interval=self.enforcement.disk_interval,
                enforce_disk=self.enforcement.disk, cgroup=self.cgroup)  # fmt: skip
        self.runs.resume()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        try:  # only the main thread may handle signals (and importing threading to ask costs)
            signal.set_wakeup_fd(self._wake_w)
            self._signals = True
        except ValueError:
            self._signals = False  # a runner on another thread (tests) is stopped with stop()
        if self._signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        if self.state is T.CLEANING:
            self.supervisor.terminate(list(self.supervisor.handles))
        now = self.clock.time()
        if self.state is T.ACTIVE and not self.stop_asked:
            self.serving.start(now)
        self.watching.start(now)

    def _limit_resources(self) -> TaskCgroup | None:
        """The task's cgroup, with its RAM and CPU limits; None (said in the log) without."""
        resources = self.spec.resources
        if not self.enforcement.cgroups or (resources.ram <= 0 and resources.cpu <= 0):
            return None
        from .cgroups import TaskCgroup, Unavailable, detect

        named = self.enforcement.cgroup_parent
        parent = self._cgroup_parent() if self._cgroup_parent is not None else \
            detect(Path(named) if named else None)
        if isinstance(parent, Unavailable):
            self.log(f"cgroup v2 limits not available: {parent.reason}; the task runs without "
                     "RAM and CPU limits")  # fmt: skip
            return None
        try:
            group = TaskCgroup.create(parent, self.paths.task_id, ram=resources.ram,
                                      cpu=resources.cpu)  # fmt: skip
        except OSError as e:
            self.log(f"cgroup v2 limits not available: cannot make the task's group in {parent} "
                     f"({e.strerror or e}); the task runs without RAM and CPU limits")
            return None
        self.log(f"RAM and CPU limited through cgroup {group.path}")
        return group

    def stop(self, terminal: ExecutorTaskState = T.KILLED, reason: str | None = None) -> None:
        """Ask a running runner (possibly on another thread) to tear the task down."""
        self.request_stop(terminal, reason)
        self._wake()

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.request_stop(T.KILLED, f"runner received {signal.Signals(signum).name}")

    def _teardown(self) -> None:
        self.serving.stop()
        self.watching.stop()
        self.supervisor.close()
        if self._wake_w >= 0:
            if self._signals:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1
        if self._writer is not None:
            self._writer.close()
        if self.cgroup is not None and self.is_terminal():
            self.cgroup.remove()
        self._lock.release()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"h")

    # ------------------------------------------------------------------ the loop
    def _poll_checkers(self) -> float:
        """Poll the checkers and act on what they say; seconds until one is due again."""
        now = self.clock.time()
        live = self.record.live_runs()
        watched = self.watching.poll(now, live)  # a limit the task went over
        due = self.watching.due
        if watched is not None and watched.fails_task and self.state is T.ACTIVE:
            self._react(watched)
        if self.state is T.ACTIVE and self.serving.started:
            status = self.serving_status = self.serving.poll(now, live)
            due = min(due, self.serving.due)
            if status is not None:
                self._react(status)
        return max(0.0, due - now)

    def _react(self, status: Status) -> None:
        health = status.health
        if health is not None and health is not self.record.health:
            self._apply(HealthRecord(health, status.reason, self.clock.time()))
        if status.verdict == "unhealthy":
            self.request_stop(T.FAILED, f"Failed health check! {status.reason}")
        elif status.verdict == "failed":
            self.request_stop(T.FAILED, status.reason)

    def _loop(self) -> None:
        while not self.is_terminal():
            due = self._poll_checkers()
            wait = self.stages.run()
            if wait is None:
                self.stages.advance()
                continue
            self._wait(min(wait, due))

    def _wait(self, timeout: float) -> None:
        fds = [self._wake_r, *self.supervisor.fds()]
        ready = set(self.clock.wait(fds, max(0.0, timeout)))
        if self._wake_r in ready:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        for exit in self.supervisor.on_readable(ready):
            self.runs.finish(exit)


def load_runner(checkpoint_root: Path, task_id: str, **kw: Any) -> Runner:
    """A runner for a task that already has a checkpoint (to resume or kill it)."""
    paths = TaskPaths(Path(checkpoint_root), task_id)
    if not paths.task_json.exists():
        raise CheckpointError(f"{paths.dir}: no task.json (is {task_id} a task here?)")
    spec = TaskSpec.load(paths.task_json)
    records = checkpoint.scan(paths.stream)
    header = next((r for r in records.records if isinstance(r, HeaderRecord)), None)
    if header is None or header.sandbox is None:
        raise InvalidTask(f"{paths.stream}: no header record")
    kw.setdefault("user", recorded_user(header.user))
    return Runner(spec, Path(checkpoint_root), task_id, sandbox=Path(header.sandbox),
                  ports=dict(header.ports), hostname=header.hostname, **kw)  # fmt: skip
