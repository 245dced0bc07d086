"""Job keys: ``cluster/role/environment/name``, as Aurora names every job.

The rules of a key part live here, once: the loader, the API's models and the scheduler's
URL parameters all ask :func:`key_part_problem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import JobKeyError

# Aurora's scheduler accepts key parts made of word characters, dashes and dots.
KEY_PART = re.compile(r"^[\w\-\.]+$", re.ASCII)
MAX_KEY_PART_LENGTH = 255
# Key parts become file and directory names (sandboxes, URLs): '.' and '..' would walk.
_PATH_WORDS = frozenset({".", ".."})
KEY_FIELDS = ("cluster", "role", "environment", "name")


def key_part_problem(value: str) -> str | None:
    """What is wrong with ``value`` as a job key part (a phrase), or None when it is fine."""
    if not KEY_PART.match(value) or len(value) > MAX_KEY_PART_LENGTH:
        return (f"is not a valid job key part; use 1 to {MAX_KEY_PART_LENGTH} letters, "
                "digits, '_', '-' or '.'")
    if value in _PATH_WORDS:
        return "is not a valid job key part; '.' and '..' name directories, not jobs"
    return None


@dataclass(frozen=True, order=True)
class JobKey:
    cluster: str
    role: str
    environment: str
    name: str

    @classmethod
    def parse(cls, text: str) -> JobKey:
        """Parse ``cluster/role/env/name``; a malformed key raises one clear JobKeyError."""
        parts = text.strip().split("/")
        if len(parts) != 4:
            raise JobKeyError(
                f"job key {text!r} must have four parts: CLUSTER/ROLE/ENVIRONMENT/NAME"
            )
        for field, part in zip(KEY_FIELDS, parts, strict=True):
            if not KEY_PART.match(part):
                raise JobKeyError(
                    f"job key {text!r}: {field} {part!r} may only contain letters, digits, "
                    "'_', '-' and '.'"
                )
            if part in _PATH_WORDS:
                raise JobKeyError(f"job key {text!r}: {field} {part!r} names a directory, "
                                  "not a job")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.cluster}/{self.role}/{self.environment}/{self.name}"
