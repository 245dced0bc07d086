"""REST routes of quotas, host maintenance and admin housekeeping; ``register(app, jobs)``.

As in Aurora, reading a quota or host status needs any valid token; setting quotas,
maintenance, backups, restores, pruning and reconciliation are admin only (403 otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query

from aurora_provider.api import models as m
from aurora_provider.framework.backups import BackupInfo
from aurora_provider.framework.housekeeping import prune_tasks, reconcile_tasks
from aurora_provider.framework.jobs import JobService
from aurora_provider.framework.maintenance import HostStatus
from aurora_provider.framework.ops import operations_of
from aurora_provider.framework.quota import Resources, consumption, get_quota, set_quota
from aurora_provider.framework.routes_common import User, key_part, require_admin


def _amounts(r: Resources) -> m.ResourceAmounts:
    return m.ResourceAmounts(cpu=r.cpu, ram_mb=r.ram_mb, disk_mb=r.disk_mb)


def _hosts(found: list[HostStatus]) -> m.HostStatusList:
    return m.HostStatusList(hosts=[m.HostStatusModel(
        host=h.host, mode=h.mode,  # type: ignore[arg-type]
        percentage=h.percentage, active_tasks=h.active_tasks) for h in found])


def _backup(b: BackupInfo) -> m.BackupModel:
    return m.BackupModel(backup_id=b.backup_id, created_at=b.created_at,
                         size_bytes=b.size_bytes, format=b.format)


def register(app: FastAPI, jobs: JobService) -> None:
    core = jobs.core

    def report(role: str) -> m.QuotaReport:
        used = consumption(core, role)
        return m.QuotaReport(role=role, quota=_amounts(get_quota(core, role)),
                             production=_amounts(used.production),
                             non_production=_amounts(used.non_production))

    # -- quotas ---------------------------------------------------------------------------

    @app.get("/api/v1/quotas/{role}", response_model=m.QuotaReport, tags=["quotas"])
    def quota(role: str, user: User) -> m.QuotaReport:
        return report(key_part("role", role))

    @app.put("/api/v1/quotas/{role}", response_model=m.QuotaReport, tags=["quotas"])
    def put_quota(role: str, body: m.ResourceAmounts, user: User) -> m.QuotaReport:
        require_admin(user, "set quotas")
        set_quota(core, key_part("role", role), Resources(body.cpu, body.ram_mb, body.disk_mb))
        return report(role)

    @app.post("/api/v1/quotas/{role}/increase", response_model=m.QuotaReport, tags=["quotas"])
    def increase_quota(role: str, body: m.ResourceAmounts, user: User) -> m.QuotaReport:
        require_admin(user, "increase quotas")
        set_quota(core, key_part("role", role), Resources(body.cpu, body.ram_mb, body.disk_mb),
                  increase=True)
        return report(role)

    # -- maintenance ------------------------------------------------------------------------

    @app.get("/api/v1/maintenance", response_model=m.HostStatusList, tags=["maintenance"])
    def host_status(user: User,
                    hosts: Annotated[str | None, Query()] = None) -> m.HostStatusList:
        """The named hosts (comma-separated), or every host in maintenance."""
        names = [h.strip() for h in (hosts or "").split(",") if h.strip()]
        return _hosts(operations_of(core).maintenance.status(names or None))

    @app.post("/api/v1/maintenance/start", response_model=m.HostStatusList,
              tags=["maintenance"])
    def start_maintenance(body: m.HostsRequest, user: User) -> m.HostStatusList:
        require_admin(user, "start host maintenance")
        return _hosts(operations_of(core).maintenance.start(body.hosts))

    @app.post("/api/v1/maintenance/drain", response_model=m.HostStatusList,
              tags=["maintenance"])
    def drain(body: m.DrainRequest, user: User) -> m.HostStatusList:
        require_admin(user, "drain hosts")
        return _hosts(operations_of(core).maintenance.drain(body.hosts, body.percentage))

    @app.post("/api/v1/maintenance/end", response_model=m.HostStatusList,
              tags=["maintenance"])
    def end_maintenance(body: m.HostsRequest, user: User) -> m.HostStatusList:
        require_admin(user, "end host maintenance")
        return _hosts(operations_of(core).maintenance.end(body.hosts))

    # -- backups and housekeeping -------------------------------------------------------------

    @app.post("/api/v1/admin/backups", response_model=m.BackupModel, status_code=201,
              tags=["admin"])
    def backup_now(user: User) -> m.BackupModel:
        require_admin(user, "back up the scheduler")
        return _backup(operations_of(core).backups.backup_now())

    @app.get("/api/v1/admin/backups", response_model=m.BackupList, tags=["admin"])
    def list_backups(user: User) -> m.BackupList:
        require_admin(user, "list backups")
        return m.BackupList(backups=[_backup(b) for b in operations_of(core).backups.available()])

    @app.post("/api/v1/admin/backups/{backup_id}/restore", response_model=m.RestoreResponse,
              tags=["admin"])
    def restore(backup_id: str, body: m.RestoreRequest, user: User) -> m.RestoreResponse:
        """Write the backup as the store of an empty work dir (on the scheduler's host)."""
        require_admin(user, "restore backups")
        database = operations_of(core).backups.restore(backup_id, Path(body.work_dir))
        return m.RestoreResponse(backup_id=backup_id, work_dir=body.work_dir,
                                 database=str(database))

    @app.post("/api/v1/admin/prune", response_model=m.PruneResponse, tags=["admin"])
    def prune(body: m.PruneRequest, user: User) -> m.PruneResponse:
        require_admin(user, "prune tasks")
        return m.PruneResponse(pruned=prune_tasks(
            core, states=body.states, role=body.role, environment=body.environment,
            name=body.name, limit=body.limit))

    @app.post("/api/v1/admin/reconcile", response_model=m.ReconcileResponse, tags=["admin"])
    def reconcile(user: User) -> m.ReconcileResponse:
        require_admin(user, "reconcile tasks")
        result = reconcile_tasks(core)
        return m.ReconcileResponse(checked=result.checked, changed=result.changed)
