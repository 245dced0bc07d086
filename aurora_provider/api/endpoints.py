"""Every endpoint of the scheduler's API, described once: the table both clients are built on.

Each row of :class:`Endpoints` is an :class:`~aurora_provider.api.endpoint.Endpoint`: method,
path template, response model (or ``str``) and the builder whose signature is the method's.
Several rows share a builder (every ``(key)`` call, every ``(hosts)`` call...). The clients
inherit the table, so a method exists on both or on neither, with one signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aurora_provider.api import models as m
from aurora_provider.api.endpoint import Endpoint, Parts
from aurora_provider.api.errors import (
    ApiError,
    BackupNotFound,
    Conflict,
    CronJobNotFound,
    Forbidden,
    InvalidRequest,
    JobNotFound,
    NotFound,
    PayloadTooLarge,
    SchedulerUnavailable,
    TaskNotFound,
    Unauthorized,
    UpdateNotFound,
)

JobLike = m.JobConfiguration | Mapping[str, Any]


# -- keys and bodies ------------------------------------------------------------------------


class KeyLike(Protocol):
    """A job key object: ``config.JobKey``, ``models.JobKeyModel``..."""

    @property
    def role(self) -> str: ...

    @property
    def environment(self) -> str: ...

    @property
    def name(self) -> str: ...


Key = str | KeyLike


def key_parts(key: Key) -> dict[str, str]:
    """``role``, ``environment`` and ``name`` of ``cluster/role/env/name``, ``role/env/name``
    or a key object; a malformed key is refused before anything is sent."""
    if not isinstance(key, str):
        return {"role": key.role, "environment": key.environment, "name": key.name}
    parts = key.strip("/").split("/")
    if len(parts) == 4:
        parts = parts[1:]
    if len(parts) != 3 or not all(parts):
        raise InvalidRequest(f"job key {key!r} must be CLUSTER/ROLE/ENVIRONMENT/NAME",
                             status=0, code="INVALID_KEY")
    return dict(zip(("role", "environment", "name"), parts, strict=True))


def job_path(key: Key) -> str:
    """``role/environment/name`` from ``cluster/role/env/name`` or a key object."""
    return "/".join(key_parts(key).values())


def job_body(job: JobLike) -> dict[str, Any]:
    if isinstance(job, m.JobConfiguration):
        return job.model_dump(mode="json")
    return dict(job)


def _listed(values: Sequence[Any] | None) -> list[Any] | None:
    return list(values) if values is not None else None


# -- builders: one per signature; several endpoints share one ---------------------------------


def _nothing() -> Parts:
    return Parts()


def _keyed(key: Key) -> Parts:
    return Parts(key_parts(key))


def _job(job: JobLike) -> Parts:
    return Parts(body={"job": job_body(job)})


def _task(task_id: str) -> Parts:
    return Parts({"task_id": task_id})


def _list_jobs(pattern: str | None = None) -> Parts:
    return Parts(query={"pattern": pattern or None})


def _job_tasks(key: Key, limit: int = 100, cursor: str | None = None, *,
               events: bool = False) -> Parts:
    return Parts(key_parts(key), query={"limit": limit, "cursor": cursor,
                                        "events": "true" if events else None})


def _kill(key: Key, instances: Sequence[int] | None = None,
          message: str | None = None) -> Parts:
    return Parts(key_parts(key), {"instances": _listed(instances), "message": message})


def _killall(key: Key, message: str | None = None) -> Parts:
    return _kill(key, None, message)


def _restart(key: Key, instances: Sequence[int] | None = None, batch_size: int = 1, *,
             watch_secs: float = 0, max_per_instance_failures: int = 0,
             max_total_failures: int = 0) -> Parts:
    return Parts(key_parts(key), {
        "instances": _listed(instances), "batch_size": batch_size, "watch_secs": watch_secs,
        "max_per_instance_failures": max_per_instance_failures,
        "max_total_failures": max_total_failures})


def _add_instances(key: Key, template_instance: int, count: int) -> Parts:
    return Parts(key_parts(key), {"template_instance": template_instance, "count": count})


def _diff(job: JobLike) -> Parts:
    body = job_body(job)
    return Parts(key_parts(m.JobKeyModel.model_validate(body["key"])), {"job": body})


def _task_log(task_id: str, process: str, run: int, stream: str = "stdout", *,
              tail_bytes: int = 2**20) -> Parts:
    return Parts({"task_id": task_id, "process": process, "run": run, "stream": stream},
                 query={"tail_bytes": tail_bytes})


def _task_log_chunk(task_id: str, process: str, run: int, stream: str = "stdout", *,
                    offset: int = 0, limit: int | None = None) -> Parts:
    return Parts({"task_id": task_id, "process": process, "run": run, "stream": stream},
                 query={"offset": offset, "limit": limit})


def _start_update(job: JobLike, message: str | None = None,
                  instances: Sequence[int] | None = None) -> Parts:
    return Parts(body={"job": job_body(job), "message": message,
                       "instances": _listed(instances)})


def _update_details(key: Key, update_id: str | None = None) -> Parts:
    return Parts({**key_parts(key), "update_id": update_id})


def _list_updates(*, cluster: str | None = None, role: str | None = None,
                  environment: str | None = None, name: str | None = None,
                  status: str | None = None, limit: int | None = None) -> Parts:
    return Parts(query={"cluster": cluster, "role": role, "environment": environment,
                        "name": name, "status": status, "limit": limit})


def _update_action(key: Key, message: str | None = None,
                   update_id: str | None = None) -> Parts:
    return Parts(key_parts(key), {"message": message, "update_id": update_id})


def _pulse(key: Key, update_id: str | None = None) -> Parts:
    return _update_action(key, None, update_id)


def _keyed_newest(key: Key, limit: int = 20) -> Parts:
    return Parts(key_parts(key), query={"limit": limit})


def _role(role: str) -> Parts:
    return Parts({"role": role})


def _quota(role: str, cpu: float, ram_mb: float, disk_mb: float) -> Parts:
    return Parts({"role": role}, {"cpu": cpu, "ram_mb": ram_mb, "disk_mb": disk_mb})


def _host_status(hosts: Sequence[str] | None = None) -> Parts:
    return Parts(query={"hosts": ",".join(hosts) if hosts else None})


def _hosts(hosts: Sequence[str]) -> Parts:
    return Parts(body={"hosts": list(hosts)})


def _drain(hosts: Sequence[str], percentage: float | None = None) -> Parts:
    return Parts(body={"hosts": list(hosts), "percentage": percentage})


def _sla_drain(hosts: Sequence[str], *, percentage: float = m.DEFAULT_SLA_PERCENTAGE,
               duration_secs: float = m.DEFAULT_SLA_DURATION_SECS,
               timeout_secs: float = m.DEFAULT_FORCE_DRAIN_TIMEOUT_SECS) -> Parts:
    return Parts(body={"hosts": list(hosts), "percentage": percentage,
                       "duration_secs": duration_secs, "timeout_secs": timeout_secs})


def _sla_hosts(percentage: float, duration_secs: float, *, hosts: Sequence[str] | None = None,
               min_instance_count: int = m.DEFAULT_MIN_INSTANCE_COUNT,
               job_limits: Mapping[str, tuple[float, float]] | None = None) -> Parts:
    limits = {k: {"percentage": p, "duration_secs": d} for k, (p, d) in
              (job_limits or {}).items()}
    return Parts(body={"percentage": percentage, "duration_secs": duration_secs,
                       "hosts": _listed(hosts), "min_instance_count": min_instance_count,
                       "job_limits": limits})


def _restore(backup_id: str, work_dir: str) -> Parts:
    return Parts({"backup_id": backup_id}, {"work_dir": work_dir})


def _stage(backup_id: str) -> Parts:
    return Parts(body={"backup_id": backup_id})


def _task_ids(task_ids: Sequence[str]) -> Parts:
    return Parts(body={"task_ids": list(task_ids)})


def _prune(*, states: Sequence[str] | None = None, role: str | None = None,
           environment: str | None = None, name: str | None = None,
           limit: int | None = None) -> Parts:
    return Parts(body={"states": list(states) if states else None, "role": role,
                       "environment": environment, "name": name, "limit": limit})


_JOB = "/api/v1/jobs/{role}/{environment}/{name}"
_UPDATE = "/api/v1/updates/{role}/{environment}/{name}"
_CRON = "/api/v1/cron/{role}/{environment}/{name}"
E = Endpoint


class Endpoints:
    """The table: one row per method of both clients."""

    health = E("GET", "/health", str, _nothing, "The scheduler's liveness probe (text).")
    metrics = E("GET", "/metrics", str, _nothing, "Prometheus metrics (text).")
    vars = E("GET", "/vars", str, _nothing,
             "Every stat under Aurora's flat names, one 'name value' per line (text).")
    vars_json = E("GET", "/vars.json", m.StatVars, _nothing,
                  "Every stat under Aurora's flat names, as one JSON object.")
    whoami = E("GET", "/api/v1/whoami", m.WhoAmI, _nothing, "Who the token belongs to.")
    cluster = E("GET", "/api/v1/cluster", m.ClusterInfo, _nothing,
                "The cluster, its backend, and whether this scheduler leads.")

    # -- jobs and tasks --------------------------------------------------------------------
    create_job = E("POST", "/api/v1/jobs", m.CreateJobResponse, _job, "Create a job.")
    list_jobs = E("GET", "/api/v1/jobs", m.JobList, _list_jobs,
                  "Jobs matching a CLUSTER/ROLE/ENV/NAME glob (default: all).")
    job_status = E("GET", _JOB, m.JobStatus, _keyed, "A job's active and terminal tasks.",
                   missing=JobNotFound)
    job_summary = E("GET", _JOB + "/summary", m.JobStatusSummary, _keyed,
                    "A job's tasks counted by state, and its configuration's summary "
                    "(cheap at any size: what a sensor waiting on a job needs).",
                    missing=JobNotFound)
    job_tasks = E("GET", _JOB + "/tasks", m.TaskPage, _job_tasks,
                  "A page of a job's tasks: active first, then terminal newest first; "
                  "pass the answer's next_cursor for the next page. Events only with "
                  "events=True.", missing=JobNotFound)
    kill = E("POST", _JOB + "/kill", m.KillResponse, _kill,
             "Kill some instances of a job (None: all of them).", missing=JobNotFound)
    killall = E("POST", _JOB + "/kill", m.KillResponse, _killall, "Kill every instance.",
                missing=JobNotFound)
    restart = E("POST", _JOB + "/restart", m.RestartModel, _restart,
                "Restart instances in rolling batches.", missing=JobNotFound)
    restart_status = E("GET", _JOB + "/restart", m.RestartModel, _keyed,
                       "The job's latest rolling restart.", raises=(NotFound,))
    add_instances = E("POST", _JOB + "/instances", m.AddInstancesResponse, _add_instances,
                      "Add instances copying an existing instance's configuration.",
                      missing=JobNotFound)
    diff = E("POST", _JOB + "/diff", m.JobDiff, _diff,
             "What a configuration would change in the running job.", missing=JobNotFound)
    job_configs = E("GET", _JOB + "/configs", m.JobConfigHistory, _keyed_newest,
                    "The configurations the job has had, newest first (also once killed).",
                    missing=JobNotFound)
    task = E("GET", "/api/v1/tasks/{task_id}", m.TaskModel, _task, "One task.",
             missing=TaskNotFound)
    task_logs = E("GET", "/api/v1/tasks/{task_id}/logs", m.TaskLogs, _task,
                  "A task's processes and their runs.", missing=TaskNotFound)
    task_log = E("GET", "/api/v1/tasks/{task_id}/logs/{process}/{run}/{stream}", str,
                 _task_log, "The end of one process run's stdout or stderr (text).",
                 missing=TaskNotFound)
    task_xcom = E("GET", "/api/v1/tasks/{task_id}/xcom", m.TaskXcom, _task,
                  "The JSON result the task's processes wrote to $AURORA_XCOM_FILE (raw "
                  "text; present false when none; 413 over 1 MiB).", missing=TaskNotFound)
    task_log_chunk = E("GET", "/api/v1/tasks/{task_id}/logs/{process}/{run}/{stream}/chunk",
                       m.LogChunk, _task_log_chunk,
                       "One process run's stdout or stderr from a byte offset, at most limit "
                       "bytes (default 1 MiB), with where the next read starts and the size "
                       "so far.", missing=TaskNotFound)

    # -- job updates -------------------------------------------------------------------------
    start_update = E("POST", "/api/v1/updates", m.UpdateDetails, _start_update,
                     "Start a rolling update of the job to this configuration (wire form), of "
                     "every instance or only the instances named; a job that does not exist "
                     "is created by it.",
                     missing=JobNotFound)
    update_details = E("GET", _UPDATE + "[/{update_id}]", m.UpdateDetails, _update_details,
                       "One update with its events: by id, else the job's active one, "
                       "else its newest.", missing=UpdateNotFound)
    list_updates = E("GET", "/api/v1/updates", m.UpdateList, _list_updates,
                     "Updates, newest first; key parts are globs, status a group or a state.")
    pause_update = E("POST", _UPDATE + "/pause", m.UpdateSummary, _update_action,
                     "Pause the job's active update.", missing=UpdateNotFound)
    resume_update = E("POST", _UPDATE + "/resume", m.UpdateSummary, _update_action,
                      "Resume the job's paused update.", missing=UpdateNotFound)
    abort_update = E("POST", _UPDATE + "/abort", m.UpdateSummary, _update_action,
                     "Abort the job's active update.", missing=UpdateNotFound)
    rollback_update = E("POST", _UPDATE + "/rollback", m.UpdateSummary, _update_action,
                        "Roll the job's active update back.", missing=UpdateNotFound)
    pulse_update = E("POST", _UPDATE + "/pulse", m.UpdateSummary, _pulse,
                     "Keep a coordinated update (pulse_interval_secs) going.",
                     missing=UpdateNotFound)

    # -- cron --------------------------------------------------------------------------------
    schedule_cron = E("POST", "/api/v1/cron", m.CronJobModel, _job,
                      "Create or replace a cron job's template.")
    list_cron = E("GET", "/api/v1/cron", m.CronJobList, _nothing, "Every cron job.")
    cron_job = E("GET", _CRON, m.CronJobModel, _keyed, "One cron job.", missing=CronJobNotFound)
    deschedule_cron = E("DELETE", _CRON, m.CronJobModel, _keyed, "Remove a cron job.",
                        missing=CronJobNotFound)
    start_cron = E("POST", _CRON + "/start", m.CronRunModel, _keyed,
                   "Run a cron job now, under its collision policy.", missing=CronJobNotFound)
    cron_runs = E("GET", _CRON + "/runs", m.CronRunList, _keyed_newest,
                  "The cron job's runs, newest first.", missing=CronJobNotFound)

    # -- quotas, maintenance, admin ------------------------------------------------------------
    get_quota = E("GET", "/api/v1/quotas/{role}", m.QuotaReport, _role, "A role's quota.")
    set_quota = E("PUT", "/api/v1/quotas/{role}", m.QuotaReport, _quota,
                  "Set a role's production quota.")
    increase_quota = E("POST", "/api/v1/quotas/{role}/increase", m.QuotaReport, _quota,
                       "Add to a role's production quota.")
    host_status = E("GET", "/api/v1/maintenance", m.HostStatusList, _host_status,
                    "The named hosts' maintenance modes, or every host in maintenance.")
    start_maintenance = E("POST", "/api/v1/maintenance/start", m.HostStatusList, _hosts,
                          "Put hosts in maintenance (SCHEDULED).")
    drain_hosts = E("POST", "/api/v1/maintenance/drain", m.HostStatusList, _drain,
                    "Drain hosts, keeping ``percentage`` of each job RUNNING.")
    end_maintenance = E("POST", "/api/v1/maintenance/end", m.HostStatusList, _hosts,
                        "Take hosts out of maintenance.")
    sla_drain_hosts = E("POST", "/api/v1/maintenance/sla_drain", m.HostStatusList, _sla_drain,
                        "Drain hosts under each job's SLA (the defaults for jobs without a "
                        "policy), regardless of SLAs after ``timeout_secs``.")
    sla_hosts = E("POST", "/api/v1/maintenance/sla", m.SlaHostList, _sla_hosts,
                  "Each host's production jobs, judged as if the host went down.")
    backup_now = E("POST", "/api/v1/admin/backups", m.BackupModel, _nothing,
                   "Write a backup of the scheduler's store now.")
    list_backups = E("GET", "/api/v1/admin/backups", m.BackupList, _nothing,
                     "The scheduler's backups.")
    restore_backup = E("POST", "/api/v1/admin/backups/{backup_id}/restore",
                       m.RestoreResponse, _restore,
                       "Write a backup as the store of an empty work dir on the scheduler's "
                       "host.", missing=BackupNotFound)
    stage_recovery = E("POST", "/api/v1/admin/recovery", m.RecoveryModel, _stage,
                       "Load a backup beside the live store, to look at and trim before "
                       "committing it (one at a time).", missing=BackupNotFound)
    recovery_tasks = E("GET", "/api/v1/admin/recovery/tasks", m.RecoveryTaskList, _nothing,
                       "The staged backup's active tasks.", raises=(Conflict,))
    delete_recovery_tasks = E("POST", "/api/v1/admin/recovery/tasks/delete",
                              m.DeleteRecoveryTasksResponse, _task_ids,
                              "Remove tasks from the staged backup.")
    commit_recovery = E("POST", "/api/v1/admin/recovery/commit", m.CommitRecoveryResponse,
                        _nothing, "Back up the live store, replace it with the staged "
                        "backup and restart the scheduler on it.")
    unload_recovery = E("DELETE", "/api/v1/admin/recovery", m.UnloadRecoveryResponse,
                        _nothing, "Drop the staged backup.")
    prune_tasks = E("POST", "/api/v1/admin/prune", m.PruneResponse, _prune,
                    "Delete terminal tasks from the scheduler's history.")
    reconcile_tasks = E("POST", "/api/v1/admin/reconcile", m.ReconcileResponse, _nothing,
                        "Ask the backend about every running task now.")


ENDPOINTS: dict[str, Endpoint[Any, Any]] = {
    name: value for name, value in vars(Endpoints).items() if isinstance(value, Endpoint)}


def errors_of(endpoint: Endpoint[Any, Any]) -> list[type[ApiError]]:
    """The errors an endpoint answers, one per status, by the rules every route follows
    (plus the row's own ``raises``): what the OpenAPI document declares.

    Under ``/api/``: 400 for anything taking input, 401 without a valid token, 403 where a
    role or admin is required (changes, admin routes), 404 for a row that names what may be
    missing, 409 when the cluster's state refuses a change, 413 for a body too large, and 503
    from a scheduler that is not the leader (or whose store is full).
    """
    found: list[type[ApiError]] = []
    api = endpoint.path.startswith("/api/")
    changes = endpoint.method != "GET"
    if api:
        if endpoint.signature.parameters or changes:
            found.append(InvalidRequest)
        found.append(Unauthorized)
        if changes or "/admin/" in endpoint.path:
            found.append(Forbidden)
        if endpoint.missing is not NotFound:
            found.append(endpoint.missing)
        if changes:
            found.append(Conflict)
        if endpoint.method in ("POST", "PUT"):
            found.append(PayloadTooLarge)
        found.append(SchedulerUnavailable)
    found += endpoint.raises
    by_status: dict[int, type[ApiError]] = {}
    for error in found:
        by_status.setdefault(error.status, error)
    return sorted(by_status.values(), key=lambda e: e.status)
