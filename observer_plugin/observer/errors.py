"""The observer's errors: each is one line and carries the HTTP status it answers with."""

from __future__ import annotations

from aurora_provider.errors import AuroraError


class ObserverError(AuroraError):
    """Root of the observer's errors (a bad flag, a port in use, a bad request)."""

    status = 500


class BadRequest(ObserverError):
    status = 400


class Forbidden(ObserverError):
    """A path that would leave the task's sandbox."""

    status = 403


class NotFound(ObserverError):
    """No such task, process, run or file."""

    status = 404
