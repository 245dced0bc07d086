"""Task ids."""

from __future__ import annotations

import uuid


def new_task_id(job_key: str, instance: int) -> str:
    """Aurora's form: ``role-env-name-instance-uuid``."""
    role, env, name = job_key.split("/")
    return f"{role}-{env}-{name}-{instance}-{uuid.uuid4()}"
