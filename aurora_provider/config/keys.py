"""Job keys: ``cluster/role/environment/name``, as Aurora names every job."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import JobKeyError

# Aurora's scheduler accepts key parts made of word characters, dashes and dots.
KEY_PART = re.compile(r"^[\w\-\.]+$", re.ASCII)
KEY_FIELDS = ("cluster", "role", "environment", "name")


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
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.cluster}/{self.role}/{self.environment}/{self.name}"
