"""Operators that create, kill, restart, grow and run Aurora jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from aurora_provider.api import ApiError, JobExists, NotFound, SchedulerClient
from aurora_provider.api.models import CreateJobResponse
from aurora_provider.operators.base import AuroraBaseOperator, api_call
from aurora_provider.operators.job_config import AuroraConfigOperator
from aurora_provider.operators.task_logs import copy_task_logs
from aurora_provider.states.task import TaskState
from aurora_provider.triggers.job import AuroraRestartTrigger
from aurora_provider.utils.job_waits import TERMINAL_STATES, JobWait

WAIT_UNTIL = (TaskState.RUNNING.value, TaskState.FINISHED.value)
IF_RUNNING = ("fail", "kill", "skip")


class AuroraCreateJobOperator(AuroraConfigOperator):
    """Create a service or ad-hoc job, and optionally wait for its instances.

    :param job_key: ``cluster/role/environment/name`` of the job in the configuration.
    :param config_file: a ``.aurora`` file (relative paths are looked up beside the DAG).
    :param config: ``.aurora`` text, instead of a file. Not templated by Jinja: its
        ``{{...}}`` are pystachio's; pass Airflow values through ``bindings``.
    :param bindings: template variables, as ``--bind name=value`` (templated).
    :param wait_until: ``"RUNNING"`` (every instance running and healthy), ``"FINISHED"``
        or None (return once the scheduler accepted the job).
    :param if_exists: ``"fail"`` (default) when the job already exists, or ``"skip"`` the
        creation and go on to the wait (a DAG that makes sure a service runs).
    """

    def __init__(
        self,
        *,
        wait_until: str | None = "RUNNING",
        if_exists: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if wait_until is not None and wait_until not in WAIT_UNTIL:
            raise ValueError(f"wait_until must be one of {WAIT_UNTIL} or None, not {wait_until!r}")
        if if_exists not in ("fail", "skip"):
            raise ValueError(f"if_exists must be 'fail' or 'skip', not {if_exists!r}")
        self.wait_until = wait_until
        self.if_exists = if_exists

    def execute(self, context: Any) -> Any:
        wire = self.job_wire()
        with self.hook.get_conn() as client:
            created = api_call(f"create {self.job_key}", self._create, client, wire)
        task_ids = created.task_ids if created else []
        if created:
            self.log.info("created %s: %s", created.key, ", ".join(task_ids))
        result = {"job_key": self.job_key, "task_ids": task_ids}
        if self.wait_until is None:
            return result
        return self.wait_for_job(context, self.job_key, JobWait.of([self.wait_until]),
                                 kwargs={"result": result})

    def _create(self, client: SchedulerClient, wire: dict[str, Any]) -> CreateJobResponse | None:
        """The created job; None when it exists already and ``if_exists`` is "skip"."""
        try:
            return client.create_job(wire)
        except JobExists:
            if self.if_exists != "skip":
                raise
        self.log.info("%s exists already: not created (if_exists='skip')", self.job_key)
        return None

    def execute_complete(self, context: Any, event: dict[str, Any],
                         result: dict[str, Any] | None = None) -> Any:
        event = self.checked(event)
        self.log.info("%s", event.get("message"))
        return {**(result or {"job_key": self.job_key}), "instances": event.get("instances")}


class AuroraKillJobOperator(AuroraBaseOperator):
    """Kill some instances of a job, or all of them, and wait until they are gone.

    :param job_key: ``cluster/role/environment/name``.
    :param instances: the instances to kill; None kills the whole job.
    :param message: recorded with the kill.
    :param wait: wait until the killed instances are terminal.
    """

    template_fields: Sequence[str] = ("job_key", "instances", "message")

    def __init__(
        self,
        *,
        job_key: str,
        instances: Sequence[int] | None = None,
        message: str | None = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_key = job_key
        self.instances = list(instances) if instances is not None else None
        self.message = message
        self.wait = wait

    def execute(self, context: Any) -> Any:
        message = self.message or f"killed by Airflow task {self.task_id}"
        with self.hook.get_conn() as client:
            killed = api_call(f"kill {self.job_key}", client.kill, self.job_key,
                               self.instances, message)
        self.log.info("asked %d task(s) of %s to stop", len(killed.killed), self.job_key)
        result = {"job_key": self.job_key, "task_ids": killed.killed}
        if not self.wait or not killed.killed:
            return result
        wait = JobWait.of(TERMINAL_STATES, self.instances)
        return self.wait_for_job(context, self.job_key, wait, kwargs={"result": result})

    def execute_complete(self, context: Any, event: dict[str, Any],
                         result: dict[str, Any] | None = None) -> Any:
        event = self.checked(event)
        return {**(result or {"job_key": self.job_key}), "instances": event.get("instances")}


class AuroraRestartJobOperator(AuroraBaseOperator):
    """Restart a job's instances in rolling batches and wait for the restart to finish.

    :param job_key: ``cluster/role/environment/name``.
    :param instances: the instances to restart; None restarts them all.
    :param batch_size: instances restarted at a time.
    :param wait: wait until every batch is back.
    """

    template_fields: Sequence[str] = ("job_key", "instances")

    def __init__(
        self,
        *,
        job_key: str,
        instances: Sequence[int] | None = None,
        batch_size: int = 1,
        wait: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_key = job_key
        self.instances = list(instances) if instances is not None else None
        self.batch_size = batch_size
        self.wait = wait

    def execute(self, context: Any) -> Any:
        with self.hook.get_conn() as client:
            restart = api_call(f"restart {self.job_key}", client.restart, self.job_key,
                                self.instances, self.batch_size)
        self.log.info("restart %d of %s started", restart.restart_id, self.job_key)
        if not self.wait:
            return {"job_key": self.job_key, "restart_id": restart.restart_id}
        trigger = AuroraRestartTrigger(job_key=self.job_key, restart_id=restart.restart_id,
                                       aurora_conn_id=self.aurora_conn_id,
                                       poll_interval=self.poll_interval)
        return self.wait_with(context, trigger, method_name="execute_complete",
                              kwargs={"restart_id": restart.restart_id})

    def execute_complete(self, context: Any, event: dict[str, Any],
                         restart_id: int | None = None) -> Any:
        event = self.checked(event)
        return {"job_key": self.job_key, "restart_id": restart_id,
                "instances": event.get("instances")}


class AuroraAddInstancesOperator(AuroraBaseOperator):
    """Add instances to a job, cloned from one of its instances.

    :param job_key: ``cluster/role/environment/name``.
    :param template_instance: the instance whose configuration the new ones copy.
    :param count: how many instances to add.
    :param wait_until: ``"RUNNING"`` to wait for the new instances, or None.
    """

    template_fields: Sequence[str] = ("job_key",)

    def __init__(
        self,
        *,
        job_key: str,
        count: int,
        template_instance: int = 0,
        wait_until: str | None = "RUNNING",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if wait_until is not None and wait_until not in WAIT_UNTIL:
            raise ValueError(f"wait_until must be one of {WAIT_UNTIL} or None, not {wait_until!r}")
        self.job_key = job_key
        self.count = count
        self.template_instance = template_instance
        self.wait_until = wait_until

    def execute(self, context: Any) -> Any:
        with self.hook.get_conn() as client:
            added = api_call(f"add instances to {self.job_key}", client.add_instances,
                              self.job_key, self.template_instance, self.count)
        result = {"job_key": self.job_key, "task_ids": added.task_ids,
                  "added": added.instances}
        if self.wait_until is None:
            return result
        wait = JobWait.of([self.wait_until], added.instances)
        return self.wait_for_job(context, self.job_key, wait, kwargs={"result": result})

    def execute_complete(self, context: Any, event: dict[str, Any],
                         result: dict[str, Any] | None = None) -> Any:
        event = self.checked(event)
        return {**(result or {"job_key": self.job_key}), "instances": event.get("instances")}


class AuroraRunJobOperator(AuroraConfigOperator):
    """Run an ad-hoc job to completion, with its processes' output in this task's log.

    Succeeds when every instance FINISHED; fails with each failed instance's reason
    otherwise. Killing the Airflow task, or a wait that times out, kills the job.

    :param job_key: ``cluster/role/environment/name`` of the job in the configuration.
    :param config_file: a ``.aurora`` file (relative paths are looked up beside the DAG).
    :param config: ``.aurora`` text, instead of a file (not templated by Jinja).
    :param bindings: template variables (templated).
    :param copy_logs: copy each process's stdout and stderr into the task log.
    :param run_cron_template: run a cron job's template once (drops its cron_schedule).
    :param if_running: what to do when the job still has active tasks (from an earlier
        run): ``"fail"`` (default), ``"kill"`` them first (Aurora's KILL_EXISTING), or
        ``"skip"`` this run (CANCEL_NEW).
    """

    def __init__(
        self,
        *,
        copy_logs: bool = True,
        run_cron_template: bool = False,
        if_running: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if if_running not in IF_RUNNING:
            raise ValueError(f"if_running must be one of {IF_RUNNING}, not {if_running!r}")
        self.copy_logs = copy_logs
        self.run_cron_template = run_cron_template
        self.if_running = if_running

    def execute(self, context: Any) -> Any:
        wire = self.job_wire(drop_cron_schedule=self.run_cron_template)
        with self.hook.get_conn() as client:
            if self.if_running != "fail":
                self._handle_leftovers(client)
            created = api_call(f"create {self.job_key}", client.create_job, wire)
        self.log.info("running %s: %s", created.key, ", ".join(created.task_ids))
        return self.wait_for_job(context, self.job_key, JobWait.of([TaskState.FINISHED]),
                                 kwargs={"task_ids": created.task_ids})

    def _handle_leftovers(self, client: SchedulerClient) -> None:
        try:
            summary = client.job_summary(self.job_key)
        except NotFound:  # never ran, or forgotten: nothing left over
            return
        except ApiError as e:
            raise AirflowException(f"status of {self.job_key}: {e}") from e
        active = sum(summary.active.values())
        if active and self.if_running == "skip":
            raise AirflowSkipException(
                f"{self.job_key} still runs {active} task(s) from an earlier run"
            )
        if active:
            self.log.info("killing %d task(s) left from an earlier run of %s",
                          active, self.job_key)
            api_call(f"kill {self.job_key}", client.kill, self.job_key, None,
                      f"replaced by Airflow task {self.task_id}")
            self._wait_gone(client)

    def _wait_gone(self, client: SchedulerClient) -> None:
        import time

        while api_call(f"status of {self.job_key}", client.job_summary, self.job_key).active:
            time.sleep(min(self.poll_interval, 1.0))

    def execute_complete(self, context: Any, event: dict[str, Any],
                         task_ids: list[str] | None = None) -> Any:
        if self.copy_logs and event and event.get("status") in ("success", "failed"):
            with self.hook.get_conn() as client:
                copy_task_logs(client, self.job_key, self.log)
        event = self.checked(event)
        return {"job_key": self.job_key, "task_ids": task_ids,
                "instances": event.get("instances")}

    def on_kill(self) -> None:
        self._kill_job("the Airflow task was killed")

    def on_wait_timeout(self) -> None:
        self._kill_job("the Airflow task timed out")

    def _kill_job(self, why: str) -> None:
        try:
            with self.hook.get_conn() as client:
                client.kill(self.job_key, None, why)
            self.log.info("killed %s: %s", self.job_key, why)
        except ApiError as e:
            self.log.warning("could not kill %s: %s", self.job_key, e)
