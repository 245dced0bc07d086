"""The task runner: drives one task through its stages, recording every change.

Each stage has a ``_stage_*`` method returning how long the loop may sleep before the stage
needs to run again, or None when the stage is done (then the task moves on). The loop
sleeps in ``clock.wait`` on the runs' pidfds, log pipes and a wake-up pipe (signals and the
health checker write to it), so a run's exit is handled at once without polling.

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
import threading
import time
from pathlib import Path
from typing import Any

from . import checkpoint, procfs
from .checkpoint import Record, StreamWriter, TaskLock, TaskPaths
from .clock import Clock, RealClock
from .errors import CheckpointError, InvalidTask
from .launch import process_env
from .lifecycle import post, steps
from .planner import INFINITY, Planner
from .process_state import LIVE, ProcessState
from .runs import Runs
from .services import Services
from .spec import TaskSpec
from .state import Dispatcher, ProcessRun, TaskRecord
from .supervisor import Supervisor
from .task_state import TERMINAL as TASK_TERMINAL
from .task_state import TaskState

MAX_ITERATION_WAIT = 15.0


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
        disk_interval: float = 60.0,
        preserve_env: bool = False,
        quiet: bool = False,
    ) -> None:
        self.spec = spec
        self.paths = TaskPaths(Path(checkpoint_root), task_id)
        self.sandbox = Path(sandbox)
        self.log_dir = self.sandbox / ".logs"
        self.ports = dict(ports or {})
        self.hostname = hostname or os.uname().nodename
        self.clock: Clock = clock or RealClock()
        self._env = process_env(self.sandbox, preserve_env)
        self._quiet = quiet
        self.regular = Planner([p for p in spec.processes if not p.final], spec.order)
        self.finalizing = Planner([p for p in spec.processes if p.final], spec.order)
        self.record = TaskRecord()
        self.dispatcher = Dispatcher(self.record)
        self.dispatcher.listen(self)
        self.supervisor = Supervisor()
        self.runs = Runs(
            spec, self.paths, sandbox=self.sandbox, log_dir=self.log_dir, env=self._env,
            clock=self.clock, supervisor=self.supervisor, record=self.record,
            set_process=self._set_process, log=self._log,
        )  # fmt: skip
        self.services = Services(
            spec, self.paths, sandbox=self.sandbox, log_dir=self.log_dir, env=self._env,
            hostname=self.hostname, ensemble=announcer_ensemble,
            sample_interval=sample_interval, disk_interval=disk_interval,
            log=self._log, wake=self._wake,
        )  # fmt: skip
        scan = checkpoint.scan(self.paths.stream)
        if scan.error is not None:
            raise scan.error
        self._scan = scan
        self.dispatcher.replay(scan.records)
        self._writer: StreamWriter | None = None
        self._lock = TaskLock(self.paths.lock)
        self._forced: TaskState | None = None
        self._forced_reason: str | None = None
        self._finalization_start: float | None = None
        self._deadline: float | None = None
        self._stop_asked = False
        self._shutdown_steps: list[tuple[str, float]] = []
        self._shutdown_until: float | None = None
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

    def on_task(self, state: TaskState, live: bool) -> None:
        when = self.record.statuses[-1][1]
        if state is TaskState.CLEANING:
            self._finalization_start = when
            if live:
                self.services.withdraw()
                self.supervisor.terminate(list(self.supervisor.handles))
        elif state is TaskState.FINALIZING:
            if self._finalization_start is None:
                self._finalization_start = when
            if live:
                self.runs.kill_everything()
        elif state in TASK_TERMINAL and live:
            self.runs.kill_everything()

    # ------------------------------------------------------------------ recording
    def _log(self, message: str) -> None:
        if not self._quiet:
            stamp = time.strftime("%H:%M:%S")
            sys.stderr.write(f"{stamp} thermos[{self.paths.task_id}] {message}\n")
            sys.stderr.flush()

    def _apply(self, record: Record) -> None:
        self.dispatcher.apply(record)

    def _set_task(self, state: TaskState, reason: str | None = None) -> None:
        record: Record = {"type": "task", "state": state.value, "time": self.clock.time()}
        if reason:
            record["reason"] = reason
        self._log(f"task {state.value}" + (f": {reason}" if reason else ""))
        self._apply(record)

    def _set_process(self, name: str, run: int, state: ProcessState, **fields: Any) -> None:
        self._apply(
            {"type": "process", "process": name, "run": run, "state": state.value, **fields}
        )

    @property
    def state(self) -> TaskState:
        return self.record.state

    def is_terminal(self) -> bool:
        return self.record.state in TASK_TERMINAL

    # ------------------------------------------------------------------ control
    def request_stop(
        self, terminal: TaskState = TaskState.KILLED, reason: str | None = None
    ) -> None:
        """Tear the task down: HTTP lifecycle first (if any), then CLEANING."""
        if self._stop_asked or self.is_terminal():
            return
        self._stop_asked = True
        self._forced = terminal
        self._forced_reason = reason
        if self.state is TaskState.ACTIVE and self.spec.lifecycle is not None:
            self._shutdown_steps = steps(self.spec.lifecycle)

    def kill(self, grace: float, terminal: TaskState = TaskState.KILLED) -> TaskState:
        """Kill a task whose runner is gone: SIGTERM, ``grace`` s for it and final processes."""
        self.request_stop(terminal, "killed")
        self._shutdown_steps = []
        self._deadline = self.clock.time() + grace
        return self.run()

    def run(self) -> TaskState:
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

    def _start(self) -> None:
        if self.record.header is None:
            self.paths.dir.mkdir(parents=True, exist_ok=True)
            checkpoint.write_json_atomic(self.paths.task_json, json.loads(self.spec.to_json()))
            self._apply(
                {
                    "type": "header",
                    "task_id": self.paths.task_id,
                    "launch_time": self.clock.time(),
                    "sandbox": str(self.sandbox),
                    "log_dir": str(self.log_dir),
                    "hostname": self.hostname,
                    "user": self._env["USER"],
                    "ports": self.ports,
                    "job_key": self.spec.job_key,
                    "instance": self.spec.instance,
                    "health_checked": self.spec.health is not None,
                }
            )
        self.sandbox.mkdir(parents=True, exist_ok=True)
        self._apply(
            {
                "type": "runner",
                "pid": os.getpid(),
                "create_time": procfs.create_time(os.getpid()),
                "time": self.clock.time(),
            }
        )
        self.runs.resume()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._signals = threading.current_thread() is threading.main_thread()
        if self._signals:  # a runner on another thread (tests) is stopped with stop()
            signal.set_wakeup_fd(self._wake_w)
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        if self.state is TaskState.CLEANING:
            self.supervisor.terminate(list(self.supervisor.handles))
        if self.state is TaskState.ACTIVE and not self._stop_asked:
            self.services.start_health()
            error = self.services.start_announcer()
            if error:
                self.request_stop(TaskState.FAILED, error)
        self.services.start_periodic(self.clock.time())

    def stop(self, terminal: TaskState = TaskState.KILLED, reason: str | None = None) -> None:
        """Ask a running runner (possibly on another thread) to tear the task down."""
        self.request_stop(terminal, reason)
        self._wake()

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.request_stop(TaskState.KILLED, f"runner received {signal.Signals(signum).name}")

    def _teardown(self) -> None:
        self.services.withdraw()
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
        self._lock.release()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"h")

    def _check_health(self) -> None:
        health = self.services.health()
        if health is None or health[0] == self.record.health:
            return
        status, reason = health
        self._apply(
            {"type": "health", "status": status, "reason": reason, "time": self.clock.time()}
        )
        if status == "unhealthy":
            self.request_stop(TaskState.FAILED, f"Failed health check! {reason}")

    # ------------------------------------------------------------------ stages
    def is_healthy(self) -> bool:
        limit = self.spec.max_failures
        under = limit == 0 or len(self.regular.failed) < limit
        return under and not self.regular.deadlocked(self.clock.time())

    def terminal_state(self) -> TaskState:
        if self._forced is not None:
            return self._forced
        return TaskState.SUCCESS if self.is_healthy() else TaskState.FAILED

    def _finalization_remaining(self) -> float:
        now = self.clock.time()
        if self._deadline is not None:
            return max(0.0, self._deadline - now)
        if self._finalization_start is None:
            return INFINITY
        return max(0.0, self.spec.finalization_wait - (now - self._finalization_start))

    def _has_live_processes(self) -> bool:
        return bool(self.supervisor.handles) or bool(self.supervisor.stragglers())

    def _stage_active(self) -> float | None:
        if self._stop_asked:
            self.services.withdraw()
            return self._shutdown_step()
        if self.regular.is_complete() or not self.is_healthy():
            return None
        self.runs.run_plan(self.regular)
        if self.regular.is_complete() or not self.is_healthy():
            return None
        return min(MAX_ITERATION_WAIT, self.regular.next_wait(self.clock.time()))

    def _shutdown_step(self) -> float | None:
        """The HTTP lifecycle while ACTIVE; None when it is over (then CLEANING)."""
        now = self.clock.time()
        regular_live = any(h for h in self.supervisor.handles if not self.spec.process(h).final)
        if self._shutdown_until is not None:
            if now < self._shutdown_until and regular_live:
                return self._shutdown_until - now
            self._shutdown_until = None
        while self._shutdown_steps and regular_live:
            endpoint, wait = self._shutdown_steps.pop(0)
            assert self.spec.lifecycle is not None
            if post(self.spec.lifecycle, endpoint):
                self._log(f"POST {endpoint} handled; waiting up to {wait} s")
                self._shutdown_until = now + wait
                return wait
        return None

    def _stage_cleaning(self) -> float | None:
        remaining = self._finalization_remaining()
        if remaining > 0 and self._has_live_processes():
            return min(remaining, MAX_ITERATION_WAIT)
        return None

    def _stage_finalizing(self) -> float | None:
        self.runs.run_plan(self.finalizing)
        if self.finalizing.deadlocked(self.clock.time()):
            return None
        remaining = self._finalization_remaining()
        if remaining > 0 and not self.finalizing.is_complete():
            return min(remaining, MAX_ITERATION_WAIT, self.finalizing.next_wait(self.clock.time()))
        return None

    def _advance(self) -> None:
        state = self.state
        if state is TaskState.ACTIVE:
            if self._forced is None and not self.is_healthy():
                self._forced_reason = self._failure_summary()
            self._set_task(TaskState.CLEANING)
        elif state is TaskState.CLEANING:
            if self._finalization_remaining() <= 0:
                self._log("finalization wait exceeded: skipping finalization")
                self._set_task(self.terminal_state(), self._terminal_reason())
            else:
                self._set_task(TaskState.FINALIZING)
        elif state is TaskState.FINALIZING:
            self._set_task(self.terminal_state(), self._terminal_reason())

    def _failure_summary(self) -> str:
        if self.regular.failed:
            return "process(es) failed: " + ", ".join(sorted(self.regular.failed))
        return "processes can no longer run (deadlock)"

    def _terminal_reason(self) -> str | None:
        state = self.terminal_state()
        if state is TaskState.SUCCESS:
            return None
        if self._forced_reason:
            return self._forced_reason
        return self._failure_summary() if state is TaskState.FAILED else None

    def _loop(self) -> None:
        stages = {
            TaskState.ACTIVE: self._stage_active,
            TaskState.CLEANING: self._stage_cleaning,
            TaskState.FINALIZING: self._stage_finalizing,
        }
        while not self.is_terminal():
            self._check_health()
            wait = stages[self.state]()
            if wait is None:
                self._advance()
                continue
            wait = min(wait, self.services.periodic(self.clock.time(), self.record.live_runs()))
            self._wait(wait)

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
    header = next((r for r in records.records if r.get("type") == "header"), None)
    if header is None:
        raise InvalidTask(f"{paths.stream}: no header record")
    return Runner(
        spec,
        Path(checkpoint_root),
        task_id,
        sandbox=Path(header["sandbox"]),
        ports=header.get("ports", {}),
        hostname=header.get("hostname"),
        **kw,
    )
