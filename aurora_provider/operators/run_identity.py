"""Which Airflow try created a job: carried in the job's metadata, read back on a retry.

A worker that dies while its job runs leaves the job behind; the next try of the same task
instance recognises it by these entries and waits on it instead of starting it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aurora_provider.config.schema import Metadata

PREFIX = "airflow."
_FIELDS = ("dag_id", "run_id", "task_id", "map_index", "try_number")


@dataclass(frozen=True)
class TryIdentity:
    """One try of one task instance (``map_index`` is -1 for a task that is not mapped)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int

    @classmethod
    def of_context(cls, context: Mapping[str, Any]) -> TryIdentity:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        return cls(str(ti.dag_id), str(ti.run_id), str(ti.task_id),
                   -1 if map_index is None else int(map_index), int(ti.try_number))

    @classmethod
    def from_metadata(cls, entries: Iterable[Mapping[str, Any]]) -> TryIdentity | None:
        """The identity in a job's metadata; None when it carries none (or part of one)."""
        found = {str(e["key"])[len(PREFIX):]: str(e["value"]) for e in entries
                 if str(e.get("key", "")).startswith(PREFIX)}
        if any(f not in found for f in _FIELDS):
            return None
        try:
            return cls(found["dag_id"], found["run_id"], found["task_id"],
                       int(found["map_index"]), int(found["try_number"]))
        except ValueError:  # written by hand, not by us
            return None

    def metadata(self) -> list[dict[str, str]]:
        return [{"key": PREFIX + f, "value": str(getattr(self, f))} for f in _FIELDS]

    def same_task_instance(self, other: TryIdentity) -> bool:
        """Another try (or this one) of the same dag run, task and map index."""
        return (self.dag_id, self.run_id, self.task_id, self.map_index) == (
            other.dag_id, other.run_id, other.task_id, other.map_index)

    def __str__(self) -> str:
        mapped = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}/{self.run_id}/{self.task_id}{mapped} try {self.try_number}"


def with_identity(job: Any, identity: TryIdentity) -> Any:
    """The (pystachio) job with metadata naming ``identity``, replacing any identity its
    configuration carried. Set before the wire form is made: the scheduler checks that the
    wire form's metadata is the executor data's."""
    kept = [m for m in job.metadata() if not str(m.key().get()).startswith(PREFIX)]
    marked = [Metadata(key=e["key"], value=e["value"]) for e in identity.metadata()]
    return job(metadata=kept + marked)


def suffixed_key(job_key: str, suffix: str) -> str:
    """``job_key`` with ``suffix`` appended to its name."""
    head, _, name = job_key.strip("/").rpartition("/")
    return f"{head}/{name}{suffix}"
