"""A job's configuration as a person reads it, and the diff between two of them."""

from __future__ import annotations

import contextlib
import difflib
import json
from typing import Any


def readable(job: Any) -> str:
    """Pretty JSON of a wire configuration; the executor's embedded JSON is unfolded so a
    change inside it shows as the lines that changed, not one long string."""
    data = job.model_dump(mode="json") if hasattr(job, "model_dump") else dict(job)
    executor = (data.get("task") or {}).get("executor_config") or {}
    raw = executor.get("data")
    # Only our executor's data is the job; a custom executor's is shown as it was sent.
    if isinstance(raw, str) and executor.get("name", "AuroraExecutor") == "AuroraExecutor":
        with contextlib.suppress(ValueError):
            executor["data"] = json.loads(raw)
    return json.dumps(data, indent=2, sort_keys=True)


def config_diff(previous: str, current: str, *, old: str, new: str) -> list[str]:
    """Unified diff lines from ``previous`` to ``current`` (escaped when rendered)."""
    return list(difflib.unified_diff(previous.splitlines(), current.splitlines(),
                                     fromfile=old, tofile=new, lineterm="", n=3))
