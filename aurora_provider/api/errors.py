"""The API's errors: one class per wire error, shared by the scheduler and its clients.

The scheduler raises these; its HTTP layer answers ``{"code", "message"}`` with the class's
``status``. A client reads that answer back into the same class (``error_from_wire``: by
code, else by status), as kazoo maps each ZooKeeper error code to a class, so callers write
``except JobNotFound`` rather than compare statuses.

What was not found is said by the endpoint, not by the code: every 404 is ``NOT_FOUND`` on the
wire, and the client's endpoint table names the class of its 404 (``JobNotFound`` for the job
routes, ``TaskNotFound`` for the task routes...).
"""

from __future__ import annotations

from aurora_provider.errors import AuroraError


class ApiError(AuroraError):
    """Root of the API's errors; ``str(e)`` is one line: message, code and HTTP status.

    ``status`` is 0 for errors that never got an answer from a server.
    """

    code = "ERROR"
    status = 500

    def __init__(self, message: str, *, status: int | None = None,
                 code: str | None = None) -> None:
        self.message = message
        self.status = type(self).status if status is None else status
        self.code = type(self).code if code is None else code
        super().__init__(f"{message} ({self.code}, HTTP {self.status})" if self.status
                         else message)


class InvalidRequest(ApiError):
    """The request is malformed or asks for something that cannot be (400)."""

    code = "INVALID_REQUEST"
    status = 400


class Unauthorized(ApiError):
    """No token, a malformed header or an unknown token (401)."""

    code = "UNAUTHENTICATED"
    status = 401


class Forbidden(ApiError):
    """The token is valid but may not do this (403)."""

    code = "FORBIDDEN"
    status = 403


class NotFound(ApiError):
    code = "NOT_FOUND"
    status = 404


class JobNotFound(NotFound):
    """No such job (or it has no active task)."""


class TaskNotFound(NotFound):
    """No such task."""


class UpdateNotFound(NotFound):
    """The job has no such update (or none at all)."""


class CronJobNotFound(NotFound):
    """No such cron job is scheduled."""


class BackupNotFound(NotFound):
    """No such backup."""


class Conflict(ApiError):
    """The request is well formed but the cluster's state refuses it now (409)."""

    code = "CONFLICT"
    status = 409


class JobExists(Conflict):
    """The job exists already: kill it, or update it."""

    code = "JOB_EXISTS"


class QuotaExceeded(Conflict):
    code = "QUOTA_EXCEEDED"


class BackupFailed(Conflict):
    code = "BACKUP_ERROR"


class PayloadTooLarge(ApiError):
    """The request's body is larger than the scheduler takes (``--max-body-bytes``) (413)."""

    code = "PAYLOAD_TOO_LARGE"
    status = 413


class XcomTooLarge(PayloadTooLarge):
    """A task's result file (``$AURORA_XCOM_FILE``) is over the limit the scheduler serves
    (``models.XCOM_MAX_BYTES``) (413)."""

    code = "XCOM_TOO_LARGE"


class ServerError(ApiError):
    """The scheduler failed to do what it should have done (500)."""

    code = "INTERNAL"
    status = 500


class StorageError(ServerError):
    code = "STORAGE_ERROR"


class StoreFull(StorageError):
    """The store cannot grow (its disk is full, or its size limit reached): writes are
    refused until space returns; reads are still answered (503)."""

    code = "STORE_FULL"
    status = 503


class NotLeader(StorageError):
    """A write refused because this scheduler no longer leads: another replica took the
    store's fence (its epoch) since this one was elected. Nothing of it was written (503)."""

    code = "NOT_LEADER"
    status = 503


class SchedulerUnavailable(ApiError):
    """The scheduler cannot be reached, or cannot serve now (not the leader) (503)."""

    code = "UNAVAILABLE"
    status = 503


# One class per wire code (the kinds of NotFound share NOT_FOUND: see the module's docstring).
BY_CODE: dict[str, type[ApiError]] = {cls.code: cls for cls in (
    InvalidRequest, Unauthorized, Forbidden, NotFound, Conflict, JobExists, QuotaExceeded,
    BackupFailed, PayloadTooLarge, XcomTooLarge, ServerError, StorageError, StoreFull,
    NotLeader, SchedulerUnavailable)}
BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    413: PayloadTooLarge, 500: ServerError, 502: SchedulerUnavailable, 503: SchedulerUnavailable,
    504: SchedulerUnavailable}


def error_from_wire(status: int, code: str, message: str, *,
                    missing: type[NotFound] = NotFound) -> ApiError:
    """The error class an answer names: its code, else its status, else ``ApiError``; a
    404 is ``missing``, the kind of NotFound the endpoint that answered deals in."""
    cls = BY_CODE.get(code) or BY_STATUS.get(status) or ApiError
    if cls is NotFound:
        cls = missing
    return cls(message, status=status, code=code)
