"""``AuroraExecutor``: Thermos's place on a Mesos agent, one task per executor (as Aurora).

The driver's callbacks only queue what the agent asked; ``run()`` (the executor's main
thread) does the work and watches the task's checkpoint every ``POLL_SECS``:

    LAUNCH    decode TaskInfo.data (bad data: TASK_FAILED), start the runner: TASK_STARTING;
              then TASK_RUNNING and the terminal state as the checkpoint says
    KILL      the runner's graceful shutdown, then TASK_KILLED once its checkpoint says so
              (TASK_LOST for a task that is not this executor's)
    SHUTDOWN  (or SIGTERM) the same kill, bounded by MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD:
              past it the runner is SIGKILLed and the task's processes killed directly

Once the task's terminal update is acknowledged (or ``ack_timeout`` passed), ``run()``
returns and the executor exits.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from pathlib import Path
from typing import Any

from aurora_provider.mesos.executor import MesosExecutorDriver
from aurora_provider.mesos.task_data import AssignedTask, TaskDataError

from ..api import InvalidTask
from ..enforcement import Enforcement
from .status import EXECUTOR_TERMINATED, INVALID, Report
from .task import TASK_INFO_FILE, TaskRun

log = logging.getLogger(__name__)

POLL_SECS = 0.05
REPORT_MARGIN_SECS = 1.5  # of the shutdown grace period, kept to report the end


class AuroraExecutor:
    """The executor's callbacks and loop (see the module's docstring).

    :param checkpoint_root: where the runner checkpoints (``/var/run/thermos``...).
    :param mesos_sandbox: ``$MESOS_SANDBOX``.
    :param announcer_ensemble: ZooKeeper for Announcers, unless the task data names one.
    :param announcer_zk_path_prefix: the serversets' root there, unless the task data names
        one (None: ``/aurora``).
    :param ack_timeout: how long to wait for the agent to acknowledge the terminal update.
    :param setuid: run the task as its role's Unix user (this executor runs as root).
    :param enforcement: the runners' resource-enforcement options.
    """

    def __init__(self, *, checkpoint_root: Path, mesos_sandbox: Path,
                 announcer_ensemble: str | None = None,
                 announcer_zk_path_prefix: str | None = None, ack_timeout: float = 15.0,
                 setuid: bool = False, enforcement: Enforcement | None = None) -> None:
        self.checkpoint_root = checkpoint_root
        self.enforcement = enforcement
        self.setuid = setuid
        self.mesos_sandbox = mesos_sandbox
        self.announcer_ensemble = announcer_ensemble
        self.announcer_zk_path_prefix = announcer_zk_path_prefix
        self.ack_timeout = ack_timeout
        self._commands: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._shutdown_asked: str | None = None  # set by a signal handler: no locks
        self._driver: MesosExecutorDriver | None = None
        self._task: TaskRun | None = None
        self._reported: Report | None = None
        self._stop_by: float | None = None  # shutting down: force the kill at this time
        self._stop_end: float | None = None  # and be gone by this time

    # -- the driver's callbacks: queue and return -------------------------------------------------

    def registered(self, driver: MesosExecutorDriver, executor_info: dict[str, Any],
                   framework_info: dict[str, Any], agent_info: dict[str, Any]) -> None:
        log.info("registered with the agent on %s", agent_info.get("hostname", "?"))

    def reregistered(self, driver: MesosExecutorDriver, agent_info: dict[str, Any]) -> None:
        log.info("registered again with the agent on %s", agent_info.get("hostname", "?"))

    def disconnected(self, driver: MesosExecutorDriver) -> None:
        log.warning("disconnected from the agent")

    def launchTask(self, driver: MesosExecutorDriver, task: dict[str, Any]) -> None:
        self._commands.put(("launch", task))

    def killTask(self, driver: MesosExecutorDriver, task_id: dict[str, Any]) -> None:
        self._commands.put(("kill", str(task_id.get("value"))))

    def frameworkMessage(self, driver: MesosExecutorDriver, data: bytes) -> None:
        log.info("ignoring a framework message of %d bytes", len(data))

    def shutdown(self, driver: MesosExecutorDriver) -> None:
        self._commands.put(("shutdown", "the executor is shutting down"))

    def error(self, driver: MesosExecutorDriver, message: str) -> None:
        log.error("the agent reports an error: %s", message)

    def ask_shutdown(self, why: str) -> None:
        """For a signal handler: only sets a field, which the loop reads."""
        self._shutdown_asked = why

    # -- the loop ------------------------------------------------------------------------------

    def run(self, driver: MesosExecutorDriver, *, recover: bool = False) -> int:
        """Work until the task ended and was reported (or the executor was shut down)."""
        self._driver = driver
        if recover:
            self._recover()
        while not self._done():
            try:
                command = self._commands.get(timeout=POLL_SECS)
            except queue.Empty:
                command = None
            if self._shutdown_asked is not None:
                self._shut_down(self._shutdown_asked)
                self._shutdown_asked = None
            if command is not None:
                self._handle(*command)
            self._watch()
        left = self.ack_timeout if self._stop_end is None else self._stop_end - time.monotonic()
        if self._reported is not None and not driver.wait_acknowledged(max(0.5, left)):
            log.warning("the agent did not acknowledge every update; exiting anyway")
        if self._task is not None:
            self._task.close()
        return 0

    def _done(self) -> bool:
        if self._reported is not None and self._reported.is_terminal:
            return True
        return self._stop_by is not None and self._task is None

    def _handle(self, kind: str, arg: Any) -> None:
        if kind == "launch":
            self._launch(arg)
        elif kind == "kill":
            self._kill(arg)
        elif kind == "shutdown":
            self._shut_down(arg)

    def _watch(self) -> None:
        task = self._task
        if task is None:
            return
        if self._stop_by is not None and time.monotonic() > self._stop_by:
            self._stop_by = float("inf")  # once
            task.force()
        report = task.observe()
        if report is not None:
            self._report(report)

    # -- what the agent asks -------------------------------------------------------------------

    def _launch(self, info: dict[str, Any]) -> None:
        task_id = str(info.get("task_id", {}).get("value", ""))
        if self._task is not None:
            if task_id != self._task.task_id:
                self._send(task_id, Report("TASK_LOST", "this executor runs task "
                                           f"{self._task.task_id} already"))
            return
        if self._stop_by is not None:
            self._send(task_id, Report("TASK_KILLED", "the executor is shutting down"))
            return
        try:
            assigned = AssignedTask.from_base64(str(info.get("data", "")))
            if assigned.task_id != task_id:
                raise TaskDataError(f"task data: the data is for task {assigned.task_id}")
        except TaskDataError as e:
            self._report_for(task_id, Report("TASK_FAILED", f"cannot start the task: {e}",
                                             INVALID))
            return
        self._adopt(assigned, info)

    def _adopt(self, assigned: AssignedTask, info: dict[str, Any] | None = None) -> None:
        task = TaskRun(assigned, mesos_sandbox=self.mesos_sandbox,
                       checkpoint_root=self.checkpoint_root,
                       announcer_ensemble=self.announcer_ensemble,
                       announcer_zk_path_prefix=self.announcer_zk_path_prefix,
                       setuid=self.setuid, enforcement=self.enforcement)  # fmt: skip
        try:
            if info is not None:  # kept for --recover
                (self.mesos_sandbox / TASK_INFO_FILE).write_text(json.dumps(info))
            how = task.start()
        except InvalidTask as e:  # no Unix user for its role: running it again cannot help
            self._report_for(assigned.task_id, Report(
                "TASK_FAILED", f"cannot start the task: {e}", INVALID))
            return
        except OSError as e:
            self._report_for(assigned.task_id, Report(
                "TASK_LOST", f"cannot start the runner: {e}", EXECUTOR_TERMINATED))
            return
        self._task = task
        self._report(Report("TASK_STARTING", how))

    def _recover(self) -> None:
        """``--recover``: take back the task this sandbox ran (its runner watched, or resumed)."""
        path = self.mesos_sandbox / TASK_INFO_FILE
        try:
            info = json.loads(path.read_text())
            assigned = AssignedTask.from_base64(str(info.get("data", "")))
        except (OSError, ValueError, AttributeError) as e:
            log.info("nothing to recover from %s (%s)", path, e)
            return
        log.info("recovering task %s", assigned.task_id)
        self._adopt(assigned)

    def _kill(self, task_id: str) -> None:
        task = self._task
        if task is None or task.task_id != task_id:
            self._send(task_id, Report("TASK_LOST", f"no task {task_id} on this executor"))
            return
        if self._reported is not None and self._reported.is_terminal:
            return
        log.info("killing task %s", task_id)
        task.kill("the scheduler asked")

    def _shut_down(self, why: str) -> None:
        if self._stop_by is not None:
            return
        assert self._driver is not None
        grace = self._driver.environment.shutdown_grace_period
        now = time.monotonic()
        self._stop_by = now + max(0.5, grace - 2 * REPORT_MARGIN_SECS)
        self._stop_end = now + max(1.0, grace - REPORT_MARGIN_SECS / 2)
        log.info("shutting down: %s", why)
        if self._task is not None and not (self._reported and self._reported.is_terminal):
            self._task.kill(why)

    # -- reporting -----------------------------------------------------------------------------

    def _report(self, report: Report) -> None:
        """Tell Mesos about our task when what it is has changed."""
        previous = self._reported
        if previous is not None and (previous.is_terminal or (previous.state, previous.healthy)
                                     == (report.state, report.healthy)):  # fmt: skip
            return
        self._reported = report
        assert self._task is not None
        self._send(self._task.task_id, report)

    def _report_for(self, task_id: str, report: Report) -> None:
        self._reported = report
        self._send(task_id, report)

    def _send(self, task_id: str, report: Report) -> None:
        log.info("task %s: %s (%s)", task_id, report.state, report.message)
        assert self._driver is not None
        self._driver.sendStatusUpdate(report.status(task_id))
