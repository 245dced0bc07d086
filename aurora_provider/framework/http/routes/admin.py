"""Admin housekeeping: backups and restores, pruning, reconciliation (admin only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam

from aurora_provider.api import models as m
from aurora_provider.framework.http.deps import Caller, Services
from aurora_provider.framework.operations.backups import BACKUP_ID, BackupInfo

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


def _backup(b: BackupInfo) -> m.BackupModel:
    return m.BackupModel(backup_id=b.backup_id, created_at=b.created_at,
                         size_bytes=b.size_bytes, format=b.format)


@router.post("/backups", response_model=m.BackupModel, status_code=201)
def backup_now(services: Services, user: Caller) -> m.BackupModel:
    user.require_admin("back up the scheduler")
    return _backup(services.backups.backup_now())


@router.get("/backups", response_model=m.BackupList)
def list_backups(services: Services, user: Caller) -> m.BackupList:
    user.require_admin("list backups")
    return m.BackupList(backups=[_backup(b) for b in services.backups.available()])


@router.post("/backups/{backup_id}/restore", response_model=m.RestoreResponse)
def restore(backup_id: Annotated[str, PathParam(json_schema_extra={"pattern": BACKUP_ID.pattern})],
            body: m.RestoreRequest, services: Services,
            user: Caller) -> m.RestoreResponse:
    """Write the backup as the store of an empty work dir (on the scheduler's host)."""
    user.require_admin("restore backups")
    database = services.backups.restore(backup_id, Path(body.work_dir))
    return m.RestoreResponse(backup_id=backup_id, work_dir=body.work_dir,
                             database=str(database))


@router.post("/prune", response_model=m.PruneResponse)
def prune(body: m.PruneRequest, services: Services, user: Caller) -> m.PruneResponse:
    user.require_admin("prune tasks")
    return m.PruneResponse(pruned=services.housekeeping.prune_tasks(
        states=body.states, role=body.role, environment=body.environment, name=body.name,
        limit=body.limit))


@router.post("/reconcile", response_model=m.ReconcileResponse)
def reconcile(services: Services, user: Caller) -> m.ReconcileResponse:
    user.require_admin("reconcile tasks")
    result = services.housekeeping.reconcile()
    return m.ReconcileResponse(checked=result.checked, changed=result.changed)
