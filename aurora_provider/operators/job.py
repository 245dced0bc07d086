"""Operators that create, kill, restart, grow and run Aurora jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from aurora_provider.api import ApiError, JobExists, NotFound, SchedulerClient
from aurora_provider.api.endpoints import key_parts
from aurora_provider.api.models import CreateJobResponse
from aurora_provider.operators.base import AuroraBaseOperator, api_call
from aurora_provider.operators.job_config import AuroraConfigOperator
from aurora_provider.operators.run_identity import TryIdentity, suffixed_key, with_identity
from aurora_provider.operators.task_logs import copy_task_logs, end_copy_needed
from aurora_provider.operators.task_xcom import collect_results
from aurora_provider.states.task import TaskState
from aurora_provider.triggers.job import AuroraRestartTrigger
from aurora_provider.utils.job_waits import TERMINAL_STATES, JobWait

WAIT_UNTIL = (TaskState.RUNNING.value, TaskState.FINISHED.value)
IF_RUNNING = ("fail", "kill", "skip")
ON_FINISH = ("keep", "kill", "prune")


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
    """Run an ad-hoc job to completion, with its processes' output in this task's log and
    their JSON results (``$AURORA_XCOM_FILE``) as its XCom.

    Succeeds when every instance FINISHED; fails with each failed instance's reason
    otherwise. Killing the Airflow task, or a wait that times out, kills the job.

    The job carries the identity of the try that created it (dag, run, task, map index,
    try) in its metadata (``airflow.*`` entries). A later try of the same task instance that
    finds that job still active waits on it rather than starting it again (``reattach``).

    Mapped (``.partial(...).expand(...)``), each task instance runs its own job: the job's
    name gets ``job_name_suffix``, by default ``_<map index>`` (``crunch`` runs as
    ``crunch_0``, ``crunch_1``...), and each instance's "Aurora job" link names its job.

    :param job_key: ``cluster/role/environment/name`` of the job in the configuration.
    :param config_file: a ``.aurora`` file (relative paths are looked up beside the DAG).
    :param config: ``.aurora`` text, instead of a file (not templated by Jinja).
    :param bindings: template variables (templated).
    :param copy_logs: copy each process's stdout and stderr into the task log at the end
        (not repeated when ``live_logs`` showed them already).
    :param live_logs: log the job's output while it runs, line by line (docs/provider.md,
        "Live task logs").
    :param run_cron_template: run a cron job's template once (drops its cron_schedule).
    :param if_running: what to do when the job still has active tasks (from an earlier
        run, or a try this task did not start): ``"fail"`` (default), ``"kill"`` them first
        (Aurora's KILL_EXISTING), or ``"skip"`` this run (CANCEL_NEW).
    :param reattach: wait on the job an earlier try of this task instance left running
        (default True); False creates the job on every try.
    :param on_finish_action: once the job's wait is over (success or failure): ``"keep"``
        (default) leaves the job alone, ``"kill"`` kills its tasks still active (the other
        instances of a job whose instance failed), ``"prune"`` deletes its terminal tasks from the
        scheduler's history (needs an admin token: the scheduler lets only admin prune).
    :param job_name_suffix: appended to the job's name (templated, e.g.
        ``"_{{ ds_nodash }}"``); None: ``_<map index>`` when mapped, nothing otherwise;
        ``""``: never (mapped instances then share one job key and collide).
    :param do_xcom_push: (BaseOperator's, default True) once every instance FINISHED, return
        the JSON each instance's processes wrote to ``$AURORA_XCOM_FILE`` (the same path as
        ``{{thermos.xcom}}``) as ``{"<instance>": value}``, keyed by instance even for a
        one-instance job (``{"0": ...}``); instances that wrote none are left out, and when
        none wrote one the return value is the usual ``job_key``/``task_ids``/``instances``.
        Malformed JSON, or a result over 1 MiB, fails the task.
    """

    template_fields: Sequence[str] = (*AuroraConfigOperator.template_fields, "job_name_suffix")

    def __init__(
        self,
        *,
        copy_logs: bool = True,
        live_logs: bool = True,
        run_cron_template: bool = False,
        if_running: str = "fail",
        reattach: bool = True,
        on_finish_action: str = "keep",
        job_name_suffix: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if if_running not in IF_RUNNING:
            raise ValueError(f"if_running must be one of {IF_RUNNING}, not {if_running!r}")
        if on_finish_action not in ON_FINISH:
            raise ValueError(f"{self.task_id}: on_finish_action must be one of {ON_FINISH}, "
                             f"not {on_finish_action!r}")
        self.copy_logs = copy_logs
        self.live_logs = live_logs
        self.run_cron_template = run_cron_template
        self.if_running = if_running
        self.reattach = reattach
        self.on_finish_action = on_finish_action
        self.job_name_suffix = job_name_suffix
        self._run_key: str | None = None

    def run_key(self, map_index: int | None = -1) -> str:
        """The key the job runs under: ``job_key``, its name suffixed when asked or mapped."""
        suffix = self.job_name_suffix
        if suffix is None:
            suffix = f"_{map_index}" if map_index is not None and map_index >= 0 else ""
        return suffixed_key(self.job_key, suffix) if suffix else self.job_key

    def _key_in(self, context: Any) -> str:
        ti = context.get("ti") if context else None
        self._run_key = self.run_key(getattr(ti, "map_index", None))
        return self._run_key

    def execute(self, context: Any) -> Any:
        key = self._key_in(context)
        identity = TryIdentity.of_context(context)
        with self.hook.get_conn() as client:
            if self.on_finish_action == "prune":
                self._check_may_prune(client)
            earlier = self._earlier_try(client, key, identity) if self.reattach else None
            if earlier is not None:
                started_by, task_ids = earlier
                self.log.info("reattached to %s, started by %s: waiting on %s",
                              key, started_by, ", ".join(task_ids))
                return self._wait_finished(context, key, task_ids)
            if self.if_running != "fail" and self._kill_leftovers(client, key):
                # Wait (deferred, or polling through the client) until they are gone.
                return self.wait_for_job(context, key, JobWait.of(TERMINAL_STATES),
                                         method_name="execute_create",
                                         kwargs={"run_key": key})
        return self._create_and_wait(context, key)

    def execute_create(self, context: Any, event: dict[str, Any],
                       run_key: str | None = None) -> Any:
        """Resumed once an earlier run's tasks are gone: create the job and wait on it."""
        key = run_key or self._key_in(context)
        self.checked(event)
        return self._create_and_wait(context, key)

    def _create_and_wait(self, context: Any, key: str) -> Any:
        identity = TryIdentity.of_context(context)
        name = key.rpartition("/")[2]

        def adjust(job: Any) -> Any:
            if key != self.job_key:
                job = job(name=name)
            return with_identity(job, identity) if self.reattach else job

        wire = self.job_wire(drop_cron_schedule=self.run_cron_template, adjust=adjust)
        with self.hook.get_conn() as client:
            created = api_call(f"create {key}", client.create_job, wire)
        self.log.info("running %s: %s", created.key, ", ".join(created.task_ids))
        return self._wait_finished(context, key, created.task_ids)

    def _wait_finished(self, context: Any, key: str, task_ids: list[str]) -> Any:
        return self.wait_for_job(context, key, JobWait.of([TaskState.FINISHED]),
                                 kwargs={"task_ids": task_ids, "run_key": key},
                                 follow_logs=self.live_logs)

    def _earlier_try(self, client: SchedulerClient, key: str,
                     identity: TryIdentity) -> tuple[TryIdentity, list[str]] | None:
        """The try of this task instance that started the job still active, and its tasks."""
        try:
            summary = client.job_summary(key)
        except NotFound:
            return None
        except ApiError as e:
            raise AirflowException(f"status of {key}: {e}") from e
        if not sum(summary.active.values()):
            return None
        history = api_call(f"configurations of {key}", client.job_configs, key, 1)
        newest = history.configs[0].job if history.configs else None
        if newest is None:
            return None
        started_by = TryIdentity.from_metadata(e.model_dump() for e in newest.task.metadata)
        if started_by is None or not started_by.same_task_instance(identity):
            return None  # another run's job: if_running decides
        status = api_call(f"status of {key}", client.job_status, key)
        return started_by, [t.task_id for t in status.active]

    def _kill_leftovers(self, client: SchedulerClient, key: str) -> bool:
        """Kill (or skip for) an earlier run's active tasks; True when a kill was sent."""
        try:
            summary = client.job_summary(key)
        except NotFound:  # never ran, or forgotten: nothing left over
            return False
        except ApiError as e:
            raise AirflowException(f"status of {key}: {e}") from e
        active = sum(summary.active.values())
        if active and self.if_running == "skip":
            raise AirflowSkipException(f"{key} still runs {active} task(s) from an earlier run")
        if not active:
            return False
        self.log.info("killing %d task(s) left from an earlier run of %s", active, key)
        api_call(f"kill {key}", client.kill, key, None,
                 f"replaced by Airflow task {self.task_id}")
        return True

    def _check_may_prune(self, client: SchedulerClient) -> None:
        me = api_call("whoami", client.whoami)
        if not me.admin:
            raise AirflowFailException(
                f"{self.task_id}: on_finish_action='prune' needs an admin token (the scheduler "
                f"lets only admin prune tasks); {me.user!r} is not admin: use 'keep' or 'kill'"
            )

    def execute_complete(self, context: Any, event: dict[str, Any],
                         task_ids: list[str] | None = None, run_key: str | None = None) -> Any:
        key = run_key or self._key_in(context)
        try:
            if self.copy_logs and end_copy_needed(event):
                with self.hook.get_conn() as client:
                    copy_task_logs(client, key, self.log)
            event = self.checked(event)
            results = self._results(key, event) if self.do_xcom_push else None
        finally:
            self._finish(key)  # after the results are read: "prune" removes their tasks
        if results is not None:
            return results
        return {"job_key": key, "task_ids": task_ids, "instances": event.get("instances")}

    def _results(self, key: str, event: dict[str, Any]) -> dict[str, Any] | None:
        instances = [int(i) for i in event.get("instances") or {}]
        with self.hook.get_conn() as client:
            return collect_results(client, key, instances or None, task=self.task_id,
                                   log=self.log)

    def _finish(self, key: str) -> None:
        """``on_finish_action``; its failure is a warning: the job's own outcome stands."""
        if self.on_finish_action == "keep":
            return
        try:
            with self.hook.get_conn() as client:
                if self.on_finish_action == "kill":
                    killed = client.kill(key, None, f"Airflow task {self.task_id} ended "
                                                    "(on_finish_action='kill')")
                    self.log.info("killed %d task(s) of %s", len(killed.killed), key)
                else:
                    parts = key_parts(key)
                    pruned = client.prune_tasks(role=parts["role"],
                                                environment=parts["environment"],
                                                name=parts["name"])
                    self.log.info("pruned %d task(s) of %s", len(pruned.pruned), key)
        except ApiError as e:
            self.log.warning("on_finish_action=%r on %s failed: %s",
                             self.on_finish_action, key, e)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None,
                         context: Any) -> Any:
        self._key_in(context)  # on_wait_timeout (a failed deferral) kills this key
        return super().resume_execution(next_method, next_kwargs, context)

    def on_kill(self) -> None:
        self._kill_job("the Airflow task was killed")

    def on_wait_timeout(self) -> None:
        self._kill_job("the Airflow task timed out")

    def _kill_job(self, why: str) -> None:
        key = self._run_key or self.job_key
        try:
            with self.hook.get_conn() as client:
                client.kill(key, None, why)
            self.log.info("killed %s: %s", key, why)
        except ApiError as e:
            self.log.warning("could not kill %s: %s", key, e)
