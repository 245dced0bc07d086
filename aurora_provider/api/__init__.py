"""The scheduler's API: pydantic wire models, the endpoint table, the sync/async clients that
send it, the typed errors and the one retry policy."""

from __future__ import annotations

from aurora_provider.api.client import AsyncSchedulerClient, SchedulerClient
from aurora_provider.api.errors import (
    ApiError,
    Conflict,
    CronJobNotFound,
    Forbidden,
    InvalidRequest,
    JobExists,
    JobNotFound,
    NotFound,
    QuotaExceeded,
    SchedulerUnavailable,
    ServerError,
    TaskNotFound,
    Unauthorized,
    UpdateNotFound,
)
from aurora_provider.api.retry import RetryPolicy

__all__ = ["ApiError", "AsyncSchedulerClient", "Conflict", "CronJobNotFound", "Forbidden",
           "InvalidRequest", "JobExists", "JobNotFound", "NotFound", "QuotaExceeded", "RetryPolicy",
           "SchedulerClient", "SchedulerUnavailable", "ServerError", "TaskNotFound",
           "Unauthorized", "UpdateNotFound"]
