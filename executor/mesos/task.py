"""One task on an agent: its runner, started (or found again) and watched, and its kill.

Files in the Mesos sandbox: ``taskinfo.json`` (the TaskInfo, to recover the task from),
``job.json`` (the job's JSON, the runner's executor data), ``runner.log`` (the runner's
output), ``task_logs.json`` (the task's processes and their runs, kept current: the
scheduler serves it, read through the agent's files API, with the logs under
``sandbox/.logs``) and ``sandbox/`` (the task's sandbox, as Aurora's DirectorySandbox). The task's
checkpoint is ``<checkpoint root>/<task id>/``, where ``thermos`` and the observer find it.

A task whose checkpoint exists already is never started twice: a live runner is watched as
it is, a runner that died mid-task is resumed (``--resume``: it re-attaches to the runs still
alive), an ended task is reported as it ended.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from aurora_provider.mesos.task_data import AssignedTask

from ..api import (
    CheckpointReader,
    ExecutorError,
    InvalidTask,
    TaskPaths,
    TaskView,
    kill_task,
    logs_listing,
    runner_argv,
)
from ..core import killer
from ..enforcement import Enforcement
from ..runner_main import EXIT_INVALID
from .status import EXECUTOR_TERMINATED, INVALID, Report, report_of

log = logging.getLogger(__name__)

TASK_INFO_FILE = "taskinfo.json"
TASK_LOGS_FILE = "task_logs.json"
JOB_FILE = "job.json"
RUNNER_LOG = "runner.log"
CLEANUP_GRACE_SECS = 5.0  # for the processes of a runner that died
ATTACHED_REFRESH_SECS = 1.0


class TaskRun:
    """The runner of one task and what its checkpoint says.

    :param assigned: what the scheduler sent in ``TaskInfo.data``.
    :param mesos_sandbox: ``$MESOS_SANDBOX``; the task's own sandbox is ``sandbox/`` in it.
    :param announcer_ensemble: ZooKeeper for the task's Announcer (the task data's wins).
    :param announcer_zk_path_prefix: the serversets' root there (the task data's wins).
    :param setuid: run the task as its role's Unix user (the executor is root).
    :param enforcement: the runner's resource-enforcement options.
    """

    def __init__(self, assigned: AssignedTask, *, mesos_sandbox: Path, checkpoint_root: Path,
                 announcer_ensemble: str | None = None,
                 announcer_zk_path_prefix: str | None = None,
                 setuid: bool = False,
                 enforcement: Enforcement | None = None) -> None:  # fmt: skip
        self.assigned = assigned
        self.enforcement = enforcement or Enforcement()
        self.setuid = setuid
        self.task_id = assigned.task_id
        self.mesos_sandbox = mesos_sandbox
        self.checkpoint_root = checkpoint_root
        self.ensemble = assigned.announcer_ensemble or announcer_ensemble
        self.zk_path_prefix = assigned.announcer_zk_path_prefix or announcer_zk_path_prefix
        self.kill_reason: str | None = None  # why a kill was asked for
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader = CheckpointReader(checkpoint_root)
        self._view: TaskView | None = None
        self._view_key: tuple[float, ...] | None = None

    @property
    def sandbox(self) -> Path:
        return self.mesos_sandbox / "sandbox"

    def start(self) -> str:
        """Start (or find) the runner: how, in a few words, for the TASK_STARTING message."""
        view = self._reader.task(self.task_id)
        if view is not None and (view.runner_alive or view.is_terminal):
            log.info("task %s has a checkpoint and a runner already: watching it", self.task_id)
            return "Re-attached to the task's runner"
        if view is not None:
            argv = [sys.executable, "-m", "executor.runner_main", "--resume",
                    "--task-id", self.task_id, "--checkpoint-root", str(self.checkpoint_root)]
            if self.ensemble:
                argv += ["--announcer-ensemble", self.ensemble]
            self._spawn(argv + self.enforcement.runner_argv())
            return "Runner resumed from the task's checkpoint"
        self.check_container()
        job = self.mesos_sandbox / JOB_FILE
        job.write_text(self.assigned.executor_data)
        self.sandbox.mkdir(parents=True, exist_ok=True)
        argv = runner_argv(
            executor_data=str(job), task_id=self.task_id, instance=self.assigned.instance,
            hostname=self.assigned.hostname, ports=self.assigned.ports,
            sandbox=str(self.sandbox), checkpoint_root=str(self.checkpoint_root),
            announcer_ensemble=self.ensemble, announcer_zk_path_prefix=self.zk_path_prefix,
            setuid=self.role() if self.setuid else None)  # fmt: skip
        self._spawn(argv + self.enforcement.runner_argv())
        return "Runner started"

    def check_container(self) -> None:
        """Refuse a Mesos container with an image: the agent mounts it at ``taskfs``, and
        this executor cannot yet run the task's processes in that root filesystem (Thermos
        did, through ``mesos-containerizer launch``); running them in the executor's own
        would ignore the image. A Docker container needs nothing here: the executor runs in
        it already."""
        try:
            container = json.loads(self.assigned.executor_data).get("container")
        except (ValueError, AttributeError):
            return
        if isinstance(container, dict) and isinstance(container.get("image"), dict):
            raise InvalidTask("a Mesos container image (taskfs) cannot be run by this "
                              "executor yet; use container=Docker(image=...)")

    def role(self) -> str:
        """The job's role, from the job's JSON: the user the task runs as (never, for want
        of one, the executor's own)."""
        try:
            role = json.loads(self.assigned.executor_data).get("role")
        except (ValueError, AttributeError):
            role = None
        if not isinstance(role, str) or not role:
            raise InvalidTask("the job's JSON names no role to run the task as")
        return role

    def _spawn(self, argv: list[str]) -> None:
        self.checkpoint_root.mkdir(parents=True, exist_ok=True)
        with open(self.mesos_sandbox / RUNNER_LOG, "ab") as out:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.mesos_sandbox, start_new_session=True, close_fds=True)
        log.info("task %s: runner started (pid %d)", self.task_id, self._proc.pid)

    # -- watching ------------------------------------------------------------------------------

    def observe(self) -> Report | None:
        """What the task is now; None while it is starting."""
        returncode = self._proc.poll() if self._proc is not None else None
        view = self._read()
        if self._proc is not None:
            runner_up = returncode is None
        else:  # a runner found running: only its checkpoint's lock and pid say it lives
            runner_up = view is not None and view.runner_alive
        if view is not None:
            report = report_of(view)
            if report is not None and report.state == "TASK_KILLED" and self.kill_reason:
                report = report._replace(message=f"Task killed: {self.kill_reason}")
            if report is not None and (report.is_terminal or runner_up):
                return report
        if runner_up:
            return None
        return self._vanished(returncode)

    def _read(self) -> TaskView | None:
        """The task's view, replayed again when its checkpoint changed (and every second
        for a runner that is not our child: its liveness is not in the file)."""
        try:
            st = TaskPaths(self.checkpoint_root, self.task_id).stream.stat()
            key: tuple[float, ...] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if key is not None and self._proc is None:
            key += (time.monotonic() // ATTACHED_REFRESH_SECS,)
        if key is None or key != self._view_key:
            self._view, self._view_key = self._reader.task(self.task_id), key
            if self._view is not None:
                self._write_listing(self._view)
        return self._view

    def _write_listing(self, view: TaskView) -> None:
        """``task_logs.json``: the processes and runs whose logs the scheduler can read."""
        listing = logs_listing(self.task_id, view.sandbox, view.processes)
        path = self.mesos_sandbox / TASK_LOGS_FILE
        temporary = path.with_suffix(".tmp")
        try:  # replaced whole, so a reader never sees half of it
            temporary.write_text(json.dumps(listing))
            temporary.replace(path)
        except OSError as e:
            log.warning("cannot write %s: %s", path, e)

    def _vanished(self, returncode: int | None) -> Report:
        output = self._runner_output()
        if returncode == EXIT_INVALID:
            return Report("TASK_FAILED", f"cannot run the task: {output or 'see runner.log'}",
                          INVALID)
        self._clean_up()
        if self.kill_reason:
            return Report("TASK_KILLED", f"Task killed: {self.kill_reason}")
        status = "" if returncode is None else f" (exit status {returncode})"
        return Report("TASK_LOST", f"Runner exited without a terminal state{status}"
                      + (f": {output}" if output else ""), EXECUTOR_TERMINATED)

    def _runner_output(self, limit: int = 300) -> str:
        try:
            data = (self.mesos_sandbox / RUNNER_LOG).read_bytes()[-limit:]
        except OSError:
            return ""
        lines = data.decode(errors="replace").strip().splitlines()
        return lines[-1].removeprefix("thermos: ") if lines else ""

    def _clean_up(self) -> None:
        """A runner that died leaves its processes: stop them (through the executor API)."""
        self._kill_task(grace=CLEANUP_GRACE_SECS)

    def _kill_task(self, *, grace: float, wait: bool = True) -> str | None:
        """``executor.api.kill_task``; the error that stopped it, if any.

        When the runner is gone it runs the task's teardown in this process, which takes
        over SIGTERM while it runs on the main thread: a thread of its own leaves the
        executor's signal handlers alone.
        """
        errors: list[str] = []

        def kill() -> None:
            try:
                kill_task(self.checkpoint_root, self.task_id, grace=grace, wait=wait)
            except (ExecutorError, OSError) as e:
                errors.append(str(e))

        thread = threading.Thread(target=kill, name=f"kill-{self.task_id}")
        thread.start()
        thread.join()
        return errors[0] if errors else None

    # -- killing -------------------------------------------------------------------------------

    def kill(self, why: str) -> None:
        """Ask for the runner's graceful shutdown (lifecycle endpoints, SIGTERM, SIGKILL)."""
        self.kill_reason = why
        error = self._kill_task(grace=CLEANUP_GRACE_SECS, wait=False)
        if error is None:
            return
        # No checkpoint yet (or its lock still held while it starts): nothing runs yet.
        log.info("task %s: %s; signalling its runner", self.task_id, error)
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(OSError):
                os.kill(self._proc.pid, signal.SIGTERM)

    def force(self) -> None:
        """Past the deadline: SIGKILL the task's runner, then kill the task's processes."""
        view = self._read()
        pid = self._proc.pid if self._proc is not None else (view.runner_pid if view else None)
        alive = (self._proc is not None and self._proc.poll() is None) or bool(
            view and view.runner_alive)
        if pid is not None and alive:
            log.warning("task %s: its runner did not stop in time: SIGKILL", self.task_id)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            if self._proc is not None:
                self._proc.wait()
        self._kill_task(grace=0.5)
        self._sweep_sessions()

    def _sweep_sessions(self) -> None:
        """SIGKILL what is left in the sessions of the task's runs (each run leads its own):
        a child that outlived its run is not in the checkpoint, and its runner is gone."""
        view = self._reader.task(self.task_id)
        leaders = [run.pid for p in view.processes.values() for run in p.runs
                   if run.pid is not None] if view is not None else []  # fmt: skip
        for members in killer.leftovers(leaders).values():
            for pid, _ in members:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Reap the runner if it is our child and has exited."""
        if self._proc is not None:
            self._proc.poll()
