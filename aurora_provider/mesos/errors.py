"""The errors of the Mesos drivers; ``str(e)`` is one line saying what and where.

``MesosError`` derives from the project's ``AuroraError``. A call the driver could not get
accepted raises a ``CallError``: ``NotSubscribed`` (nothing was sent), ``MasterUnreachable``
(the POST did not get an answer) or ``CallRejected`` (the master answered, not with 202).
"""

from __future__ import annotations

from aurora_provider.errors import AuroraError


class MesosError(AuroraError):
    """Root of the errors of ``aurora_provider.mesos``."""


class MasterAddressError(MesosError, ValueError):
    """A master address (``host:port``, ``zk://...``, ``file://...``) that cannot be used."""


class CallError(MesosError):
    """A call did not reach the master or was not accepted by it."""


class NotSubscribed(CallError):
    """The driver holds no subscription (not started, stopped, or reconnecting)."""


class MasterUnreachable(CallError):
    """The POST of a call got no answer (connection refused, reset, timed out)."""


class CallRejected(CallError):
    """The master answered a call with another status than 202 Accepted."""

    def __init__(self, message: str, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
