"""Process runs: starting them, settling how they ended, re-attaching, killing.

Every change is a ``ProcessRecord`` handed to ``apply`` (the runner's dispatcher), so what
this module does is recorded exactly as if the runner had done it, and replays the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from aurora_provider.states.process_run import LIVE, TERMINAL, ProcessState

from .clock import Clock
from .dispatcher import RecordedTask
from .launch import launch, read_exit_code
from .paths import TaskPaths
from .planner import Planner
from .records import ProcessRecord
from .spec import TaskSpec
from .supervisor import Exit, Supervisor, exit_reason


class Runs:
    def __init__(
        self,
        spec: TaskSpec,
        paths: TaskPaths,
        *,
        sandbox: Path,
        log_dir: Path,
        env: dict[str, str],
        as_user: Sequence[str] = (),
        clock: Clock,
        supervisor: Supervisor,
        record: RecordedTask,
        apply: Callable[[ProcessRecord], None],
        log: Callable[[str], None],
    ) -> None:
        self._spec = spec
        self._paths = paths
        self._sandbox = sandbox
        self._log_dir = log_dir
        self._env = env
        self._as_user = list(as_user)
        self._clock = clock
        self._supervisor = supervisor
        self._record = record
        self._set = apply
        self._log = log
        self.cgroup_procs: Path | None = None  # the task's cgroup, once the runner made one

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
            self._set(ProcessRecord(name, run, ProcessState.WAITING))
        else:
            run = current.run  # a WAITING run left by a previous runner
        now = self._clock.time()
        exit_file = self._paths.exit_file(name, run)
        try:
            launched = launch(
                process=name, run=run, cmdline=spec.cmdline, sandbox=self._sandbox,
                log_dir=self._log_dir, logger=spec.logger, exit_file=exit_file, env=self._env,
                as_user=self._as_user, cgroup_procs=self.cgroup_procs,
            )  # fmt: skip
        except OSError as e:
            self._log(f"{name} run {run} could not start: {e}")
            reason = f"cannot launch: {e.strerror or e}"
            self._set(ProcessRecord(name, run, ProcessState.FAILED, stop_time=now, reason=reason))
            return
        self._set(ProcessRecord(
            name, run, ProcessState.FORKED,
            pid=launched.pid, create_time=launched.create_time, fork_time=now,
        ))  # fmt: skip
        self._supervisor.watch(
            name, run, launched.pid, launched.create_time,
            child=True, exit_file=exit_file, pumps=launched.pumps,
        )  # fmt: skip
        self._set(ProcessRecord(name, run, ProcessState.RUNNING, start_time=self._clock.time()))
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
        reason = exit_reason(rc)
        self._log(
            f"{exit.process} run {exit.run} {state.value}" + (f" ({reason})" if reason else "")
        )
        self._set(ProcessRecord(exit.process, exit.run, state,
                                stop_time=stop_time or self._clock.time(), return_code=rc,
                                reason=reason))  # fmt: skip

    def kill_everything(self) -> None:
        """SIGKILL every tree still alive; live runs become KILLED."""
        for exit in self._supervisor.kill_all():
            current = self._record.current_run(exit.process)
            if current is not None and current.run == exit.run and current.state in LIVE:
                self._set(ProcessRecord(
                    exit.process, exit.run, ProcessState.KILLED, stop_time=self._clock.time(),
                    return_code=exit.return_code, reason="killed at teardown",
                ))  # fmt: skip

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
                    self._set(ProcessRecord(run.process, run.run, ProcessState.RUNNING,
                                            start_time=now))
                continue
            rc = read_exit_code(exit_file)
            if rc is not None:
                stop = exit_file.stat().st_mtime
                if run.state is ProcessState.FORKED:
                    self._set(ProcessRecord(run.process, run.run, ProcessState.RUNNING,
                                            start_time=stop))
                self.finish(Exit(run.process, run.run, rc, False), stop)
            else:
                self._log(f"{run.process} run {run.run} vanished: LOST")
                self._set(ProcessRecord(run.process, run.run, ProcessState.LOST, stop_time=now))
