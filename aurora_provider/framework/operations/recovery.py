"""Aurora's staged recovery: a backup loaded beside the live store, looked at and trimmed,
then committed in its place, or unloaded.

Staging restores the backup into a private temporary directory (the same restore as
``scheduler-restore``), so nothing the admin does to it touches the live store. Committing
first writes a backup of the live store (the way back, named in the answer), then hands the
staged store to ``commit``: the daemon stops the scheduler, replaces every table of the live
store with the staged ones in one transaction, and starts the scheduler again on them, where
Aurora's scheduler exited and left the restart to its supervisor. As after any start, tasks
the store does not know are killed and tasks it knows that no longer run are LOST.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aurora_provider.api.errors import Conflict, InvalidRequest
from aurora_provider.framework.operations.backups import BackupInfo, Backups, restore_backup
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.storage.store import Store, open_store
from aurora_provider.states.task import ACTIVE


@dataclass(frozen=True)
class Staged:
    backup_id: str
    staged_at: float
    directory: Path
    store: Store


@dataclass(frozen=True)
class Committed:
    backup_id: str  # the backup now live
    safety_backup: BackupInfo  # the live store as it was just before


class StagedRecovery:
    """At most one staged backup, kept across the scheduler's restarts (the daemon owns it).

    :param commit: replaces the live store with the given one and restarts the scheduler.
    """

    def __init__(self, commit: Callable[[Store], None],
                 clock: Callable[[], float] = time.time) -> None:
        self._commit = commit
        self._clock = clock
        self._lock = threading.Lock()
        self._staged: Staged | None = None

    @property
    def staged(self) -> Staged | None:
        return self._staged

    def stage(self, backups: Backups, backup_id: str) -> Staged:
        with self._lock:
            if self._staged is not None:
                raise Conflict(f"backup {self._staged.backup_id} is already staged: commit "
                               "or unload it first")
            source = backups.path(backup_id)  # malformed (400) or missing (404) ids
            directory = Path(tempfile.mkdtemp(prefix="aurora-recovery-"))  # mode 0700
            try:
                database = restore_backup(source, directory / "staged")
                store = open_store(f"sqlite:///{database}")
            except BaseException:
                shutil.rmtree(directory, ignore_errors=True)
                raise
            self._staged = Staged(backup_id, self._clock(), directory, store)
            return self._staged

    def _current(self) -> Staged:
        if self._staged is None:
            raise Conflict("no backup is staged for recovery: stage one with "
                                "scheduler_stage_recovery first")
        return self._staged

    def active_tasks(self) -> list[TaskRow]:
        """The staged backup's active tasks (what Aurora's print_recovery_tasks lists)."""
        with self._lock:
            rows = self._current().store.tasks.tasks(statuses=ACTIVE)
        return sorted(rows, key=lambda r: (r.job_key, r.instance, r.task_id))

    def delete_tasks(self, task_ids: Sequence[str]) -> list[str]:
        """Remove tasks (and their history) from the staged backup; every id must be in it."""
        wanted = list(dict.fromkeys(task_ids))
        if not wanted:
            raise InvalidRequest("task_ids: name at least one task id")
        with self._lock:
            store = self._current().store
            found = {r.task_id for r in store.tasks.tasks(task_ids=wanted)}
            missing = [t for t in wanted if t not in found]
            if missing:
                raise InvalidRequest(f"task_ids: not in the staged backup: "
                                     f"{', '.join(missing[:5])}"
                                     + (f" and {len(missing) - 5} more" if len(missing) > 5
                                        else ""))
            with store.transaction() as tx:
                store.tasks.delete(tx, wanted)
        return wanted

    def commit(self, backups: Backups) -> Committed:
        with self._lock:
            staged = self._current()
            safety = backups.backup_now()  # before anything is replaced
            self._commit(staged.store)
            self._drop()
        return Committed(staged.backup_id, safety)

    def unload(self) -> str | None:
        """Drop the staged backup; its id, or None when nothing was staged."""
        with self._lock:
            backup_id = self._staged.backup_id if self._staged is not None else None
            self._drop()
        return backup_id

    def _drop(self) -> None:
        staged, self._staged = self._staged, None
        if staged is not None:
            staged.store.close()
            shutil.rmtree(staged.directory, ignore_errors=True)
