"""Bearer tokens from an auth file: token -> user, roles, admin.

The file is JSON: ``{"tokens": {"<token>": {"user": "alice", "roles": ["www"],
"admin": false}}}``. A role's jobs are changed only by users holding that role, or by an
admin; reads need any valid token. The auth file and the token file are kept 0600.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from aurora_provider.api.errors import Forbidden, Unauthorized
from aurora_provider.framework.errors import SchedulerError
from aurora_provider.framework.private import keep_private, write_private, write_private_once


class AuthFileError(SchedulerError):
    """The auth file cannot be read as tokens."""


@dataclass(frozen=True)
class Principal:
    user: str
    roles: frozenset[str]
    admin: bool

    def may_change(self, role: str) -> bool:
        return self.admin or role in self.roles

    def require_role(self, role: str) -> None:
        if not self.may_change(role):
            raise Forbidden(f"user {self.user!r} may not change jobs of role {role!r}")

    def require_admin(self, what: str) -> None:
        """Aurora's admin-only calls (quotas, maintenance, backups, pruning, reconciling)."""
        if not self.admin:
            raise Forbidden(f"user {self.user!r} may not {what}: admin only")


class Authenticator:
    def __init__(self, tokens: dict[str, Principal]) -> None:
        self._tokens = tokens

    @classmethod
    def from_file(cls, path: Path) -> Authenticator:
        keep_private(path, "auth file")
        try:
            data = json.loads(path.read_text())
            entries = data["tokens"]
            tokens = {
                str(token): Principal(str(e["user"]), frozenset(map(str, e.get("roles", []))),
                                      bool(e.get("admin", False)))
                for token, e in entries.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise AuthFileError(
                f"auth file {path}: expected {{\"tokens\": {{TOKEN: {{\"user\", \"roles\", "
                f"\"admin\"}}}}}} ({type(e).__name__}: {e})") from e
        return cls(tokens)

    def from_header(self, header: str | None) -> Principal:
        """The caller of an ``Authorization: Bearer <token>`` header."""
        if not header:
            raise Unauthorized("missing 'Authorization: Bearer <token>' header")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        return self.authenticate(token)

    def authenticate(self, token: str) -> Principal:
        principal = self._tokens.get(token.strip())
        if principal is None:
            raise Unauthorized("unknown token")
        return principal


def embedded_auth_file(work_dir: Path, token_file: Path, user: str) -> Path:
    """The embedded default: one admin token, shared with local clients via ``token_file``.

    An existing token is kept, so clients stay valid across scheduler restarts.
    """
    auth_file = work_dir / "auth.json"
    keep_private(auth_file, "auth file")  # says so when it was looser; rewritten below
    token = None
    if token_file.exists():
        keep_private(token_file, "token file")
        token = token_file.read_text().strip() or None
    if token is None:
        fresh = secrets.token_urlsafe(32)
        # Replicas started together on one home agree on the first token written.
        written = write_private_once(token_file, fresh + "\n").strip()
        token = written or fresh
        if not written:  # an empty token file was there: replace it
            write_private(token_file, token + "\n")
    entry = {"user": user, "roles": [], "admin": True}
    write_private(auth_file, json.dumps({"tokens": {token: entry}}, indent=2) + "\n")
    return auth_file
