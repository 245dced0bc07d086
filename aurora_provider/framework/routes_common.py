"""What the operations routes share: the caller, job paths from the URL, the admin check."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from aurora_provider.framework.auth import Authenticator, Principal
from aurora_provider.framework.errors import Forbidden, InvalidRequest

_KEY_PART = re.compile(r"^[\w\-\.]+$")


def _principal(request: Request,
               authorization: Annotated[str | None, Header()] = None) -> Principal:
    authenticator: Authenticator = request.app.state.auth
    return authenticator.authenticate(authorization)


User = Annotated[Principal, Depends(_principal)]


def key_part(field: str, value: str) -> str:
    if not _KEY_PART.match(value):
        raise InvalidRequest(f"{field} {value!r} may only contain letters, digits, '_', '-' "
                             "and '.'")
    return value


def job_path(role: str, environment: str, name: str) -> str:
    for field, value in (("role", role), ("environment", environment), ("name", name)):
        key_part(f"job key {field}", value)
    return f"{role}/{environment}/{name}"


def require_admin(user: Principal, what: str) -> None:
    """Aurora's admin-only calls (quotas, maintenance, backups, pruning, reconciliation)."""
    if not user.admin:
        raise Forbidden(f"user {user.user!r} may not {what}: admin only")
