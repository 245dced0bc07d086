"""Wire models of Aurora's staged recovery: a backup staged, its tasks listed and trimmed,
then committed in place of the live store or unloaded."""

from __future__ import annotations

from pydantic import BaseModel, Field

from aurora_provider.api.models.base import Name, Strict

BACKUP_ID_PATTERN = r"^backup-\d{8}T\d{6}\d{6}Z$"


class StageRecoveryRequest(Strict):
    backup_id: str = Field(json_schema_extra={"pattern": BACKUP_ID_PATTERN},
                           description="a backup of scheduler_list_backups")


class RecoveryModel(BaseModel):
    backup_id: str  # the staged backup
    staged_at: float
    active_tasks: int  # in the staged backup


class RecoveryTaskModel(BaseModel):
    task_id: str
    key: str  # cluster/role/environment/name
    instance: int
    status: str


class RecoveryTaskList(BaseModel):
    backup_id: str
    tasks: list[RecoveryTaskModel]  # the staged backup's active tasks


class DeleteRecoveryTasksRequest(Strict):
    task_ids: list[Name] = Field(min_length=1, max_length=10_000)


class DeleteRecoveryTasksResponse(BaseModel):
    deleted: list[str]


class CommitRecoveryResponse(BaseModel):
    backup_id: str  # the backup the scheduler now runs on
    safety_backup: str  # the live store as it was before the commit: the way back


class UnloadRecoveryResponse(BaseModel):
    unloaded: str | None  # the backup that was staged, or None when none was
