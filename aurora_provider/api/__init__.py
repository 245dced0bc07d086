"""The scheduler's API: pydantic wire models and the sync/async clients."""

from __future__ import annotations

from aurora_provider.api.client import (
    ApiError,
    AsyncSchedulerClient,
    RetryPolicy,
    SchedulerClient,
    SchedulerUnavailable,
)

__all__ = ["ApiError", "AsyncSchedulerClient", "RetryPolicy", "SchedulerClient",
           "SchedulerUnavailable"]
