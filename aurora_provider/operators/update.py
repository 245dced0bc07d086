"""Operators for rolling updates: start one and wait for it, or steer the active one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aurora_provider.operators.base import AuroraBaseOperator, api_call
from aurora_provider.operators.job_config import AuroraConfigOperator
from aurora_provider.triggers.update import AuroraUpdateTrigger


class AuroraUpdateJobOperator(AuroraConfigOperator):
    """Start a rolling update of a job to a configuration and wait for its outcome.

    The Airflow task fails when the update ends ROLLED_BACK, FAILED, ABORTED or ERROR,
    naming the failing instances. Batches, health watching and rollback follow the job's
    ``update_config``.

    :param job_key: ``cluster/role/environment/name``.
    :param config_file: a ``.aurora`` file (relative paths are looked up beside the DAG).
    :param config: ``.aurora`` text, instead of a file (not templated by Jinja).
    :param bindings: template variables (templated).
    :param message: recorded with the update.
    :param instances: update only these instances (a canary); the others keep their
        configuration. Default: every instance.
    :param wait: wait for a terminal state (else return the update id at once).
    :param pulse: pulse a coordinated update while waiting (this task coordinates it).
    """

    template_fields: Sequence[str] = (*AuroraConfigOperator.template_fields, "message")

    def __init__(
        self,
        *,
        message: str | None = None,
        instances: Sequence[int] | None = None,
        wait: bool = True,
        pulse: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.message = message
        self.instances = list(instances) if instances is not None else None
        self.wait = wait
        self.pulse = pulse

    def execute(self, context: Any) -> Any:
        wire = self.job_wire()
        message = self.message or f"started by Airflow task {self.task_id}"
        with self.hook.get_conn() as client:
            update = api_call(f"update {self.job_key}", client.start_update, wire, message,
                              self.instances)
        self.log.info("update %s of %s: %s (add %s, remove %s, replace %s)", update.update_id,
                      self.job_key, update.status, update.add, update.remove, update.replace)
        context["ti"].xcom_push(key="update_id", value=update.update_id)
        if not self.wait:
            return {"job_key": self.job_key, "update_id": update.update_id,
                    "update_status": update.status}
        trigger = AuroraUpdateTrigger(job_key=self.job_key, update_id=update.update_id,
                                      pulse=self.pulse, aurora_conn_id=self.aurora_conn_id,
                                      poll_interval=self.poll_interval)
        return self.wait_with(context, trigger, method_name="execute_complete")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        event = self.checked(event)
        self.log.info("%s", event["message"])
        return {"job_key": self.job_key, "update_id": event["update_id"],
                "update_status": event["update_status"]}


class _UpdateActionOperator(AuroraBaseOperator):
    """Steers a job's update (by id, else its active one)."""

    action = ""
    template_fields: Sequence[str] = ("job_key", "update_id", "message")

    def __init__(self, *, job_key: str, update_id: str | None = None,
                 message: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_key = job_key
        self.update_id = update_id
        self.message = message

    def execute(self, context: Any) -> Any:
        message = self.message or f"{self.action} by Airflow task {self.task_id}"
        with self.hook.get_conn() as client:
            call = getattr(client, f"{self.action}_update")
            if self.action == "pulse":
                summary = api_call(f"pulse {self.job_key}", call, self.job_key, self.update_id)
            else:
                summary = api_call(f"{self.action} the update of {self.job_key}", call,
                                    self.job_key, message, self.update_id)
        self.log.info("update %s of %s is now %s", summary.update_id, self.job_key,
                      summary.status)
        return {"job_key": self.job_key, "update_id": summary.update_id,
                "update_status": summary.status}


class AuroraPauseUpdateOperator(_UpdateActionOperator):
    """Pause a job's active update (``aurora update pause``).

    :param job_key: ``cluster/role/environment/name``.
    :param update_id: the update (default: the job's active one).
    :param message: recorded with the action.
    """

    action = "pause"


class AuroraResumeUpdateOperator(_UpdateActionOperator):
    """Resume a job's paused update (``aurora update resume``); parameters as pause."""

    action = "resume"


class AuroraAbortUpdateOperator(_UpdateActionOperator):
    """Abort a job's update where it stands (``aurora update abort``); parameters as pause."""

    action = "abort"


class AuroraRollbackUpdateOperator(_UpdateActionOperator):
    """Roll a job's update back (``aurora update rollback``); parameters as pause."""

    action = "rollback"


class AuroraPulseUpdateOperator(_UpdateActionOperator):
    """Pulse a coordinated update (``pulse_interval_secs``); parameters as pause."""

    action = "pulse"
