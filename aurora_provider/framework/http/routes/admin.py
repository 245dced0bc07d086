"""Admin housekeeping: backups, restores and staged recovery, pruning, reconciliation (admin
only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam

from aurora_provider.api import models as m
from aurora_provider.api.errors import Conflict
from aurora_provider.framework.http.deps import Caller, Services
from aurora_provider.framework.operations.backups import BACKUP_ID, BackupInfo
from aurora_provider.framework.operations.recovery import StagedRecovery

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


# -- staged recovery (Aurora's scheduler_*_recovery verbs) --------------------------------


def _recovery(services: Services) -> StagedRecovery:
    if services.recovery is None:
        raise Conflict("staged recovery needs the scheduler daemon (aurora-scheduler)")
    return services.recovery


@router.post("/recovery", response_model=m.RecoveryModel, status_code=201)
def stage_recovery(body: m.StageRecoveryRequest, services: Services,
                   user: Caller) -> m.RecoveryModel:
    """Load a backup beside the live store, to look at and trim before committing it."""
    user.require_admin("stage a recovery")
    recovery = _recovery(services)
    staged = recovery.stage(services.backups, body.backup_id)
    return m.RecoveryModel(backup_id=staged.backup_id, staged_at=staged.staged_at,
                           active_tasks=len(recovery.active_tasks()))


@router.get("/recovery/tasks", response_model=m.RecoveryTaskList)
def recovery_tasks(services: Services, user: Caller) -> m.RecoveryTaskList:
    user.require_admin("look at a staged recovery")
    recovery = _recovery(services)
    rows = recovery.active_tasks()
    staged = recovery.staged
    return m.RecoveryTaskList(
        backup_id=staged.backup_id if staged is not None else "",
        tasks=[m.RecoveryTaskModel(task_id=r.task_id, key=f"{services.cluster}/{r.job_key}",
                                   instance=r.instance, status=r.status.value) for r in rows])


@router.post("/recovery/tasks/delete", response_model=m.DeleteRecoveryTasksResponse)
def delete_recovery_tasks(body: m.DeleteRecoveryTasksRequest, services: Services,
                          user: Caller) -> m.DeleteRecoveryTasksResponse:
    user.require_admin("change a staged recovery")
    return m.DeleteRecoveryTasksResponse(
        deleted=_recovery(services).delete_tasks(body.task_ids))


@router.post("/recovery/commit", response_model=m.CommitRecoveryResponse)
def commit_recovery(services: Services, user: Caller) -> m.CommitRecoveryResponse:
    """Replace the live store with the staged backup and restart the scheduler on it."""
    user.require_admin("commit a recovery")
    done = _recovery(services).commit(services.backups)
    return m.CommitRecoveryResponse(backup_id=done.backup_id,
                                    safety_backup=done.safety_backup.backup_id)


@router.delete("/recovery", response_model=m.UnloadRecoveryResponse)
def unload_recovery(services: Services, user: Caller) -> m.UnloadRecoveryResponse:
    user.require_admin("unload a staged recovery")
    return m.UnloadRecoveryResponse(unloaded=_recovery(services).unload())
