"""The scheduler's exception root: every error carries a code and an HTTP status."""

from __future__ import annotations


class SchedulerError(Exception):
    """Root of every error the scheduler reports to a caller; ``str(e)`` is one line."""

    code = "SCHEDULER_ERROR"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(SchedulerError):
    code = "INVALID_REQUEST"
    status = 400


class NotFound(SchedulerError):
    code = "NOT_FOUND"
    status = 404


class Conflict(SchedulerError):
    code = "CONFLICT"
    status = 409


class Unauthenticated(SchedulerError):
    code = "UNAUTHENTICATED"
    status = 401


class Forbidden(SchedulerError):
    code = "FORBIDDEN"
    status = 403


class StorageError(SchedulerError):
    code = "STORAGE_ERROR"
    status = 500
