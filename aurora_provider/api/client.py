"""Sync and async clients of the scheduler's REST API.

Both share one ``RetryPolicy``: a request that never reached the server (connection refused,
connect timeout) is retried for every method; a read that failed or a 502/503/504 answer is
retried for GETs only, so a create or kill is never sent twice after the server saw it.
The bearer token comes from the argument, ``AURORA_TOKEN``, or the token file that the
embedded scheduler writes (``$AURORA_HOME/token``, default ``~/.aurora/token``).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel

from aurora_provider.api import models as m
from aurora_provider.api.paths import default_token_file

T = TypeVar("T", bound=BaseModel)

DEFAULT_URL = "http://127.0.0.1:8081"
_RETRY_STATUS = frozenset({502, 503, 504})


class ApiError(Exception):
    """Root of the client's errors; ``str(e)`` is one line: status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})" if status else message)
        self.status = status
        self.code = code
        self.message = message


class SchedulerUnavailable(ApiError):
    """The scheduler could not be reached (after retries)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and an overall deadline."""

    attempts: int = 5
    initial: float = 0.2
    maximum: float = 3.0
    multiplier: float = 2.0
    jitter: float = 0.2  # fraction of each delay drawn at random
    deadline: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delays(self) -> list[float]:
        out = []
        delay = self.initial
        for _ in range(max(0, self.attempts - 1)):
            out.append(delay * (1 + random.uniform(-self.jitter, self.jitter)))
            delay = min(self.maximum, delay * self.multiplier)
        return out


NO_RETRY = RetryPolicy(attempts=1)


class _KeyLike(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def environment(self) -> str: ...

    @property
    def name(self) -> str: ...


def job_path(key: str | _KeyLike) -> str:
    """``role/environment/name`` from ``cluster/role/env/name`` or a key object."""
    if isinstance(key, str):
        parts = key.strip("/").split("/")
        if len(parts) == 4:
            parts = parts[1:]
        if len(parts) != 3 or not all(parts):
            raise ApiError(0, "INVALID_KEY",
                           f"job key {key!r} must be CLUSTER/ROLE/ENVIRONMENT/NAME")
        return "/".join(parts)
    return f"{key.role}/{key.environment}/{key.name}"


def find_token(token: str | None = None, token_file: Path | str | None = None) -> str | None:
    if token:
        return token
    if os.environ.get("AURORA_TOKEN"):
        return os.environ["AURORA_TOKEN"]
    path = Path(token_file).expanduser() if token_file else default_token_file()
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _error_of(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
        return ApiError(response.status_code, str(body["code"]), str(body["message"]))
    except (ValueError, KeyError, TypeError):
        text = " ".join(response.text.split())[:200]
        return ApiError(response.status_code, "HTTP_ERROR", text or response.reason_phrase)


def _job_body(job: m.JobConfiguration | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(job, m.JobConfiguration):
        return job.model_dump(mode="json")
    return dict(job)


def _retryable(method: str, error: Exception | None, status: int | None) -> bool:
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return True
    if method != "GET":
        return False
    if error is not None:
        return isinstance(error, httpx.TransportError)
    return status in _RETRY_STATUS


class _Base:
    def __init__(self, base_url: str = DEFAULT_URL, *, token: str | None = None,
                 token_file: Path | str | None = None, timeout: float = 30.0,
                 retry: RetryPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = find_token(token, token_file)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _error(self, response: httpx.Response) -> ApiError:
        error = _error_of(response)
        if error.status == 401 and not self.token:
            return ApiError(401, error.code, f"{error.message}; no token was found: pass one, "
                            f"set AURORA_TOKEN, or write it to {default_token_file()}")
        return error


class SchedulerClient(_Base):
    """Blocking client. Use as a context manager or call ``close()``."""

    def __init__(self, base_url: str = DEFAULT_URL, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout,
                                  headers=self._headers())

    def __enter__(self) -> SchedulerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, body: Any = None,
                params: Mapping[str, str] | None = None) -> httpx.Response:
        delays = self.retry.delays()
        started = time.monotonic()
        while True:
            error: Exception | None = None
            response = None
            try:
                response = self._http.request(method, path, json=body, params=params)
            except httpx.HTTPError as e:
                error = e
            status = response.status_code if response is not None else None
            if (error is None and status not in _RETRY_STATUS) or not delays or \
                    not _retryable(method, error, status) or \
                    time.monotonic() - started > self.retry.deadline:
                break
            self.retry.sleep(delays.pop(0))
        if response is None:
            raise SchedulerUnavailable(0, "UNAVAILABLE",
                                       f"cannot reach the scheduler at {self.base_url}: {error}")
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _get(self, path: str, model: type[T], params: Mapping[str, str] | None = None) -> T:
        return model.model_validate(self.request("GET", path, params=params).json())

    def _post(self, path: str, body: Any, model: type[T]) -> T:
        return model.model_validate(self.request("POST", path, body).json())

    def health(self) -> str:
        return self.request("GET", "/health").text

    def metrics(self) -> str:
        return self.request("GET", "/metrics").text

    def whoami(self) -> m.WhoAmI:
        return self._get("/api/v1/whoami", m.WhoAmI)

    def cluster(self) -> m.ClusterInfo:
        return self._get("/api/v1/cluster", m.ClusterInfo)

    def create_job(self, job: m.JobConfiguration | Mapping[str, Any]) -> m.CreateJobResponse:
        return self._post("/api/v1/jobs", {"job": _job_body(job)}, m.CreateJobResponse)

    def list_jobs(self, pattern: str | None = None) -> m.JobList:
        return self._get("/api/v1/jobs", m.JobList, {"pattern": pattern} if pattern else None)

    def job_status(self, key: str | _KeyLike) -> m.JobStatus:
        return self._get(f"/api/v1/jobs/{job_path(key)}", m.JobStatus)

    def kill(self, key: str | _KeyLike, instances: Sequence[int] | None = None,
             message: str | None = None) -> m.KillResponse:
        body = {"instances": list(instances) if instances is not None else None,
                "message": message}
        return self._post(f"/api/v1/jobs/{job_path(key)}/kill", body, m.KillResponse)

    def killall(self, key: str | _KeyLike, message: str | None = None) -> m.KillResponse:
        return self.kill(key, None, message)

    def restart(self, key: str | _KeyLike, instances: Sequence[int] | None = None,
                batch_size: int = 1) -> m.RestartModel:
        body = {"instances": list(instances) if instances is not None else None,
                "batch_size": batch_size}
        return self._post(f"/api/v1/jobs/{job_path(key)}/restart", body, m.RestartModel)

    def restart_status(self, key: str | _KeyLike) -> m.RestartModel:
        return self._get(f"/api/v1/jobs/{job_path(key)}/restart", m.RestartModel)

    def add_instances(self, key: str | _KeyLike, template_instance: int,
                      count: int) -> m.AddInstancesResponse:
        body = {"template_instance": template_instance, "count": count}
        return self._post(f"/api/v1/jobs/{job_path(key)}/instances", body,
                          m.AddInstancesResponse)

    def diff(self, job: m.JobConfiguration | Mapping[str, Any]) -> m.JobDiff:
        body = _job_body(job)
        path = job_path(m.JobKeyModel.model_validate(body["key"]))
        return self._post(f"/api/v1/jobs/{path}/diff", {"job": body}, m.JobDiff)

    def task(self, task_id: str) -> m.TaskModel:
        return self._get(f"/api/v1/tasks/{task_id}", m.TaskModel)

    def task_logs(self, task_id: str) -> m.TaskLogs:
        return self._get(f"/api/v1/tasks/{task_id}/logs", m.TaskLogs)

    def task_log(self, task_id: str, process: str, run: int, stream: str = "stdout", *,
                 tail_bytes: int = 2**20) -> str:
        path = f"/api/v1/tasks/{task_id}/logs/{process}/{run}/{stream}"
        return self.request("GET", path, params={"tail_bytes": str(tail_bytes)}).text

    # -- job updates ----------------------------------------------------------------------

    def start_update(self, job: m.JobConfiguration | Mapping[str, Any],
                     message: str | None = None) -> m.UpdateDetails:
        """Start a rolling update of the job to this configuration (wire form)."""
        body = {"job": _job_body(job), "message": message}
        return self._post("/api/v1/updates", body, m.UpdateDetails)

    def update_details(self, key: str | _KeyLike,
                       update_id: str | None = None) -> m.UpdateDetails:
        """One update with its events: by id, else the job's active one, else its newest."""
        return self._get(_update_path(key, update_id), m.UpdateDetails)

    def list_updates(self, *, cluster: str | None = None, role: str | None = None,
                     environment: str | None = None, name: str | None = None,
                     status: str | None = None, limit: int | None = None) -> m.UpdateList:
        """Updates, newest first; key parts are globs, status a group or a state name."""
        params = _update_filters(cluster, role, environment, name, status, limit)
        return self._get("/api/v1/updates", m.UpdateList, params)

    def pause_update(self, key: str | _KeyLike, message: str | None = None,
                     update_id: str | None = None) -> m.UpdateSummary:
        return self._update_action(key, "pause", message, update_id)

    def resume_update(self, key: str | _KeyLike, message: str | None = None,
                      update_id: str | None = None) -> m.UpdateSummary:
        return self._update_action(key, "resume", message, update_id)

    def abort_update(self, key: str | _KeyLike, message: str | None = None,
                     update_id: str | None = None) -> m.UpdateSummary:
        return self._update_action(key, "abort", message, update_id)

    def rollback_update(self, key: str | _KeyLike, message: str | None = None,
                        update_id: str | None = None) -> m.UpdateSummary:
        return self._update_action(key, "rollback", message, update_id)

    def pulse_update(self, key: str | _KeyLike,
                     update_id: str | None = None) -> m.UpdateSummary:
        """Keep a coordinated update (pulse_interval_secs) going."""
        return self._update_action(key, "pulse", None, update_id)

    def _update_action(self, key: str | _KeyLike, verb: str, message: str | None,
                       update_id: str | None) -> m.UpdateSummary:
        body = {"message": message, "update_id": update_id}
        return self._post(f"/api/v1/updates/{job_path(key)}/{verb}", body, m.UpdateSummary)

    # -- operations: cron, quotas, maintenance, admin (issue 5) -----------------------------

    def schedule_cron(self, job: m.JobConfiguration | Mapping[str, Any]) -> m.CronJobModel:
        """Create or replace a cron job's template."""
        return self._post("/api/v1/cron", {"job": _job_body(job)}, m.CronJobModel)

    def list_cron(self) -> m.CronJobList:
        return self._get("/api/v1/cron", m.CronJobList)

    def cron_job(self, key: str | _KeyLike) -> m.CronJobModel:
        return self._get(f"/api/v1/cron/{job_path(key)}", m.CronJobModel)

    def deschedule_cron(self, key: str | _KeyLike) -> m.CronJobModel:
        response = self.request("DELETE", f"/api/v1/cron/{job_path(key)}")
        return m.CronJobModel.model_validate(response.json())

    def start_cron(self, key: str | _KeyLike) -> m.CronRunModel:
        return self._post(f"/api/v1/cron/{job_path(key)}/start", {}, m.CronRunModel)

    def cron_runs(self, key: str | _KeyLike, limit: int = 20) -> m.CronRunList:
        """The cron job's runs, newest first."""
        return self._get(f"/api/v1/cron/{job_path(key)}/runs", m.CronRunList,
                         {"limit": str(limit)})

    def get_quota(self, role: str) -> m.QuotaReport:
        return self._get(f"/api/v1/quotas/{role}", m.QuotaReport)

    def set_quota(self, role: str, cpu: float, ram_mb: float, disk_mb: float) -> m.QuotaReport:
        body = {"cpu": cpu, "ram_mb": ram_mb, "disk_mb": disk_mb}
        response = self.request("PUT", f"/api/v1/quotas/{role}", body)
        return m.QuotaReport.model_validate(response.json())

    def increase_quota(self, role: str, cpu: float, ram_mb: float,
                       disk_mb: float) -> m.QuotaReport:
        body = {"cpu": cpu, "ram_mb": ram_mb, "disk_mb": disk_mb}
        return self._post(f"/api/v1/quotas/{role}/increase", body, m.QuotaReport)

    def host_status(self, hosts: Sequence[str] | None = None) -> m.HostStatusList:
        """The named hosts' maintenance modes, or every host in maintenance."""
        return self._get("/api/v1/maintenance", m.HostStatusList,
                         {"hosts": ",".join(hosts)} if hosts else None)

    def start_maintenance(self, hosts: Sequence[str]) -> m.HostStatusList:
        return self._post("/api/v1/maintenance/start", {"hosts": list(hosts)},
                          m.HostStatusList)

    def drain_hosts(self, hosts: Sequence[str],
                    percentage: float | None = None) -> m.HostStatusList:
        return self._post("/api/v1/maintenance/drain",
                          {"hosts": list(hosts), "percentage": percentage}, m.HostStatusList)

    def end_maintenance(self, hosts: Sequence[str]) -> m.HostStatusList:
        return self._post("/api/v1/maintenance/end", {"hosts": list(hosts)},
                          m.HostStatusList)

    def backup_now(self) -> m.BackupModel:
        return self._post("/api/v1/admin/backups", {}, m.BackupModel)

    def list_backups(self) -> m.BackupList:
        return self._get("/api/v1/admin/backups", m.BackupList)

    def restore_backup(self, backup_id: str, work_dir: str) -> m.RestoreResponse:
        """Write a backup as the store of an empty work dir on the scheduler's host."""
        return self._post(f"/api/v1/admin/backups/{backup_id}/restore",
                          {"work_dir": work_dir}, m.RestoreResponse)

    def prune_tasks(self, *, states: Sequence[str] | None = None, role: str | None = None,
                    environment: str | None = None, name: str | None = None,
                    limit: int | None = None) -> m.PruneResponse:
        body = {"states": list(states) if states else None, "role": role,
                "environment": environment, "name": name, "limit": limit}
        return self._post("/api/v1/admin/prune", body, m.PruneResponse)

    def reconcile_tasks(self) -> m.ReconcileResponse:
        return self._post("/api/v1/admin/reconcile", {}, m.ReconcileResponse)


class AsyncSchedulerClient(_Base):
    """Non-blocking client (for triggers); the same methods as ``SchedulerClient``."""

    def __init__(self, base_url: str = DEFAULT_URL, *,
                 async_sleep: Callable[[float], Any] = asyncio.sleep, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._sleep = async_sleep
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout,
                                       headers=self._headers())

    async def __aenter__(self) -> AsyncSchedulerClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, body: Any = None,
                      params: Mapping[str, str] | None = None) -> httpx.Response:
        delays = self.retry.delays()
        started = time.monotonic()
        while True:
            error: Exception | None = None
            response = None
            try:
                response = await self._http.request(method, path, json=body, params=params)
            except httpx.HTTPError as e:
                error = e
            status = response.status_code if response is not None else None
            if (error is None and status not in _RETRY_STATUS) or not delays or \
                    not _retryable(method, error, status) or \
                    time.monotonic() - started > self.retry.deadline:
                break
            await self._sleep(delays.pop(0))
        if response is None:
            raise SchedulerUnavailable(0, "UNAVAILABLE",
                                       f"cannot reach the scheduler at {self.base_url}: {error}")
        if response.status_code >= 400:
            raise self._error(response)
        return response

    async def _get(self, path: str, model: type[T],
                   params: Mapping[str, str] | None = None) -> T:
        return model.model_validate((await self.request("GET", path, params=params)).json())

    async def _post(self, path: str, body: Any, model: type[T]) -> T:
        return model.model_validate((await self.request("POST", path, body)).json())

    async def health(self) -> str:
        return (await self.request("GET", "/health")).text

    async def whoami(self) -> m.WhoAmI:
        return await self._get("/api/v1/whoami", m.WhoAmI)

    async def cluster(self) -> m.ClusterInfo:
        return await self._get("/api/v1/cluster", m.ClusterInfo)

    async def create_job(self, job: m.JobConfiguration | Mapping[str, Any]
                         ) -> m.CreateJobResponse:
        return await self._post("/api/v1/jobs", {"job": _job_body(job)}, m.CreateJobResponse)

    async def list_jobs(self, pattern: str | None = None) -> m.JobList:
        return await self._get("/api/v1/jobs", m.JobList,
                               {"pattern": pattern} if pattern else None)

    async def job_status(self, key: str | _KeyLike) -> m.JobStatus:
        return await self._get(f"/api/v1/jobs/{job_path(key)}", m.JobStatus)

    async def kill(self, key: str | _KeyLike, instances: Sequence[int] | None = None,
                   message: str | None = None) -> m.KillResponse:
        body = {"instances": list(instances) if instances is not None else None,
                "message": message}
        return await self._post(f"/api/v1/jobs/{job_path(key)}/kill", body, m.KillResponse)

    async def killall(self, key: str | _KeyLike, message: str | None = None) -> m.KillResponse:
        return await self.kill(key, None, message)

    async def restart(self, key: str | _KeyLike, instances: Sequence[int] | None = None,
                      batch_size: int = 1) -> m.RestartModel:
        body = {"instances": list(instances) if instances is not None else None,
                "batch_size": batch_size}
        return await self._post(f"/api/v1/jobs/{job_path(key)}/restart", body, m.RestartModel)

    async def restart_status(self, key: str | _KeyLike) -> m.RestartModel:
        return await self._get(f"/api/v1/jobs/{job_path(key)}/restart", m.RestartModel)

    async def add_instances(self, key: str | _KeyLike, template_instance: int,
                            count: int) -> m.AddInstancesResponse:
        body = {"template_instance": template_instance, "count": count}
        return await self._post(f"/api/v1/jobs/{job_path(key)}/instances", body,
                                m.AddInstancesResponse)

    async def diff(self, job: m.JobConfiguration | Mapping[str, Any]) -> m.JobDiff:
        body = _job_body(job)
        path = job_path(m.JobKeyModel.model_validate(body["key"]))
        return await self._post(f"/api/v1/jobs/{path}/diff", {"job": body}, m.JobDiff)

    async def task(self, task_id: str) -> m.TaskModel:
        return await self._get(f"/api/v1/tasks/{task_id}", m.TaskModel)

    async def task_logs(self, task_id: str) -> m.TaskLogs:
        return await self._get(f"/api/v1/tasks/{task_id}/logs", m.TaskLogs)

    async def task_log(self, task_id: str, process: str, run: int, stream: str = "stdout", *,
                       tail_bytes: int = 2**20) -> str:
        path = f"/api/v1/tasks/{task_id}/logs/{process}/{run}/{stream}"
        response = await self.request("GET", path, params={"tail_bytes": str(tail_bytes)})
        return response.text

    # -- job updates ----------------------------------------------------------------------

    async def start_update(self, job: m.JobConfiguration | Mapping[str, Any],
                           message: str | None = None) -> m.UpdateDetails:
        body = {"job": _job_body(job), "message": message}
        return await self._post("/api/v1/updates", body, m.UpdateDetails)

    async def update_details(self, key: str | _KeyLike,
                             update_id: str | None = None) -> m.UpdateDetails:
        return await self._get(_update_path(key, update_id), m.UpdateDetails)

    async def list_updates(self, *, cluster: str | None = None, role: str | None = None,
                           environment: str | None = None, name: str | None = None,
                           status: str | None = None, limit: int | None = None
                           ) -> m.UpdateList:
        params = _update_filters(cluster, role, environment, name, status, limit)
        return await self._get("/api/v1/updates", m.UpdateList, params)

    async def pause_update(self, key: str | _KeyLike, message: str | None = None,
                           update_id: str | None = None) -> m.UpdateSummary:
        return await self._update_action(key, "pause", message, update_id)

    async def resume_update(self, key: str | _KeyLike, message: str | None = None,
                            update_id: str | None = None) -> m.UpdateSummary:
        return await self._update_action(key, "resume", message, update_id)

    async def abort_update(self, key: str | _KeyLike, message: str | None = None,
                           update_id: str | None = None) -> m.UpdateSummary:
        return await self._update_action(key, "abort", message, update_id)

    async def rollback_update(self, key: str | _KeyLike, message: str | None = None,
                              update_id: str | None = None) -> m.UpdateSummary:
        return await self._update_action(key, "rollback", message, update_id)

    async def pulse_update(self, key: str | _KeyLike,
                           update_id: str | None = None) -> m.UpdateSummary:
        return await self._update_action(key, "pulse", None, update_id)

    async def _update_action(self, key: str | _KeyLike, verb: str, message: str | None,
                             update_id: str | None) -> m.UpdateSummary:
        body = {"message": message, "update_id": update_id}
        return await self._post(f"/api/v1/updates/{job_path(key)}/{verb}", body,
                                m.UpdateSummary)

    # -- operations: cron, quotas, maintenance, admin (issue 5) -----------------------------

    async def schedule_cron(self, job: m.JobConfiguration | Mapping[str, Any]) -> m.CronJobModel:
        """Create or replace a cron job's template."""
        return await self._post("/api/v1/cron", {"job": _job_body(job)}, m.CronJobModel)

    async def list_cron(self) -> m.CronJobList:
        return await self._get("/api/v1/cron", m.CronJobList)

    async def cron_job(self, key: str | _KeyLike) -> m.CronJobModel:
        return await self._get(f"/api/v1/cron/{job_path(key)}", m.CronJobModel)

    async def deschedule_cron(self, key: str | _KeyLike) -> m.CronJobModel:
        response = await self.request("DELETE", f"/api/v1/cron/{job_path(key)}")
        return m.CronJobModel.model_validate(response.json())

    async def start_cron(self, key: str | _KeyLike) -> m.CronRunModel:
        return await self._post(f"/api/v1/cron/{job_path(key)}/start", {}, m.CronRunModel)

    async def cron_runs(self, key: str | _KeyLike, limit: int = 20) -> m.CronRunList:
        """The cron job's runs, newest first."""
        return await self._get(f"/api/v1/cron/{job_path(key)}/runs", m.CronRunList,
                         {"limit": str(limit)})

    async def get_quota(self, role: str) -> m.QuotaReport:
        return await self._get(f"/api/v1/quotas/{role}", m.QuotaReport)

    async def set_quota(self, role: str, cpu: float, ram_mb: float,
                        disk_mb: float) -> m.QuotaReport:
        body = {"cpu": cpu, "ram_mb": ram_mb, "disk_mb": disk_mb}
        response = await self.request("PUT", f"/api/v1/quotas/{role}", body)
        return m.QuotaReport.model_validate(response.json())

    async def increase_quota(self, role: str, cpu: float, ram_mb: float,
                       disk_mb: float) -> m.QuotaReport:
        body = {"cpu": cpu, "ram_mb": ram_mb, "disk_mb": disk_mb}
        return await self._post(f"/api/v1/quotas/{role}/increase", body, m.QuotaReport)

    async def host_status(self, hosts: Sequence[str] | None = None) -> m.HostStatusList:
        """The named hosts' maintenance modes, or every host in maintenance."""
        return await self._get("/api/v1/maintenance", m.HostStatusList,
                         {"hosts": ",".join(hosts)} if hosts else None)

    async def start_maintenance(self, hosts: Sequence[str]) -> m.HostStatusList:
        return await self._post("/api/v1/maintenance/start", {"hosts": list(hosts)},
                          m.HostStatusList)

    async def drain_hosts(self, hosts: Sequence[str],
                    percentage: float | None = None) -> m.HostStatusList:
        return await self._post("/api/v1/maintenance/drain",
                          {"hosts": list(hosts), "percentage": percentage}, m.HostStatusList)

    async def end_maintenance(self, hosts: Sequence[str]) -> m.HostStatusList:
        return await self._post("/api/v1/maintenance/end", {"hosts": list(hosts)},
                          m.HostStatusList)

    async def backup_now(self) -> m.BackupModel:
        return await self._post("/api/v1/admin/backups", {}, m.BackupModel)

    async def list_backups(self) -> m.BackupList:
        return await self._get("/api/v1/admin/backups", m.BackupList)

    async def restore_backup(self, backup_id: str, work_dir: str) -> m.RestoreResponse:
        """Write a backup as the store of an empty work dir on the scheduler's host."""
        return await self._post(f"/api/v1/admin/backups/{backup_id}/restore",
                          {"work_dir": work_dir}, m.RestoreResponse)

    async def prune_tasks(self, *, states: Sequence[str] | None = None, role: str | None = None,
                    environment: str | None = None, name: str | None = None,
                    limit: int | None = None) -> m.PruneResponse:
        body = {"states": list(states) if states else None, "role": role,
                "environment": environment, "name": name, "limit": limit}
        return await self._post("/api/v1/admin/prune", body, m.PruneResponse)

    async def reconcile_tasks(self) -> m.ReconcileResponse:
        return await self._post("/api/v1/admin/reconcile", {}, m.ReconcileResponse)


def _update_path(key: str | _KeyLike, update_id: str | None) -> str:
    path = f"/api/v1/updates/{job_path(key)}"
    return f"{path}/{update_id}" if update_id else path


def _update_filters(cluster: str | None, role: str | None, environment: str | None,
                    name: str | None, status: str | None,
                    limit: int | None) -> dict[str, str] | None:
    given = {"cluster": cluster, "role": role, "environment": environment, "name": name,
             "status": status, "limit": str(limit) if limit is not None else None}
    return {k: v for k, v in given.items() if v is not None} or None
