"""Process runs: starting them, settling how they ended, re-attaching, killing.

Every change goes through ``set_process`` (the runner's dispatcher), so what this module
does is recorded exactly as if the runner had done it, and replays the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .checkpoint import TaskPaths
from .clock import Clock
from .launch import launch, read_exit_code
from .planner import Planner
from .process_state import LIVE, TERMINAL, ProcessState
from .spec import TaskSpec
from .state import TaskRecord
from .supervisor import Exit, Supervisor, exit_reason

SetProcess = Callable[..., None]  # (process, run, state, **fields)


class Runs:
    def __init__(
        self,
        spec: TaskSpec,
        paths: TaskPaths,
        *,
        sandbox: Path,
        log_dir: Path,
        env: dict[str, str],
        clock: Clock,
        supervisor: Supervisor,
        record: TaskRecord,
        set_process: SetProcess,
        log: Callable[[str], None],
    ) -> None:
        self._spec = spec
        self._paths = paths
        self._sandbox = sandbox
        self._log_dir = log_dir
        self._env = env
        self._clock = clock
        self._supervisor = supervisor
        self._record = record
        self._set = set_process
        self._log = log

    def run_plan(self, plan: Planner) -> bool:
        """Start what the plan allows now (within ``max_concurrency``); whether any started."""
        runnable = plan.runnable_at(self._clock.time())
        if self._spec.max_concurrency > 0:
            runnable = runnable[: max(self._spec.max_concurrency - len(plan.running), 0)]
        for name in runnable:
            self.launch(name)
        return bool(runnable)

    def launch(self, name: str) -> None:
        spec = self._spec.process(name)
        current = self._record.current_run(name)
        if current is None or current.state in TERMINAL:
            run = 0 if current is None else current.run + 1
            self._set(name, run, ProcessState.WAITING)
        else:
            run = current.run  # a WAITING run left by a previous runner
        now = self._clock.time()
        exit_file = self._paths.exit_file(name, run)
        try:
            launched = launch(
                process=name, run=run, cmdline=spec.cmdline, sandbox=self._sandbox,
                log_dir=self._log_dir, logger=spec.logger, exit_file=exit_file, env=self._env,
            )  # fmt: skip
        except OSError as e:
            self._log(f"{name} run {run} could not start: {e}")
            reason = f"cannot launch: {e.strerror or e}"
            self._set(name, run, ProcessState.FAILED, stop_time=now, reason=reason)
            return
        self._set(
            name, run, ProcessState.FORKED,
            pid=launched.pid, create_time=launched.create_time, fork_time=now,
        )  # fmt: skip
        self._supervisor.watch(
            name, run, launched.pid, launched.create_time,
            child=True, exit_file=exit_file, pumps=launched.pumps,
        )  # fmt: skip
        self._set(name, run, ProcessState.RUNNING, start_time=self._clock.time())
        self._log(f"{name} run {run} started (pid {launched.pid})")

    def finish(self, exit: Exit, stop_time: float | None = None) -> None:
        """Record how a run ended (if it is still the live run of its process)."""
        current = self._record.current_run(exit.process)
        if current is None or current.run != exit.run or current.state not in LIVE:
            return
        rc = exit.return_code
        if rc is None or rc < 0:
            state = ProcessState.KILLED
        elif rc == 0:
            state = ProcessState.SUCCESS
        else:
            state = ProcessState.FAILED
        fields: dict[str, Any] = {"stop_time": stop_time or self._clock.time(), "return_code": rc}
        reason = exit_reason(rc)
        if reason:
            fields["reason"] = reason
        self._log(
            f"{exit.process} run {exit.run} {state.value}" + (f" ({reason})" if reason else "")
        )
        self._set(exit.process, exit.run, state, **fields)

    def kill_everything(self) -> None:
        """SIGKILL every tree still alive; live runs become KILLED."""
        for exit in self._supervisor.kill_all():
            current = self._record.current_run(exit.process)
            if current is not None and current.run == exit.run and current.state in LIVE:
                self._set(
                    exit.process, exit.run, ProcessState.KILLED, stop_time=self._clock.time(),
                    return_code=exit.return_code, reason="killed at teardown",
                )  # fmt: skip

    def resume(self) -> None:
        """After a restart: re-attach to live runs, settle ended ones, mark the rest LOST."""
        now = self._clock.time()
        for runs in list(self._record.processes.values()):
            run = runs[-1]
            if run.state not in LIVE:
                continue
            exit_file = self._paths.exit_file(run.process, run.run)
            if run.pid is not None and self._supervisor.watch(
                run.process, run.run, run.pid, run.create_time, child=False, exit_file=exit_file
            ):
                self._log(f"re-attached to {run.process} run {run.run} (pid {run.pid})")
                if run.state is ProcessState.FORKED:
                    self._set(run.process, run.run, ProcessState.RUNNING, start_time=now)
                continue
            rc = read_exit_code(exit_file)
            if rc is not None:
                stop = exit_file.stat().st_mtime
                if run.state is ProcessState.FORKED:
                    self._set(run.process, run.run, ProcessState.RUNNING, start_time=stop)
                self.finish(Exit(run.process, run.run, rc, False), stop)
            else:
                self._log(f"{run.process} run {run.run} vanished: LOST")
                self._set(run.process, run.run, ProcessState.LOST, stop_time=now)
