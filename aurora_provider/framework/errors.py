"""The scheduler daemon's own errors (start-up: flags, files, addresses).

Errors of API requests are the wire errors of ``aurora_provider.api.errors``.
"""

from __future__ import annotations

from aurora_provider.errors import AuroraError


class SchedulerError(AuroraError):
    """The daemon cannot start or go on as asked; ``str(e)`` is one line."""
