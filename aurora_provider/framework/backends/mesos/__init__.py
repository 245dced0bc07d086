"""The scheduler as a Mesos framework (``aurora-scheduler --backend mesos``)."""

from aurora_provider.framework.backends.mesos.backend import MesosBackend
from aurora_provider.framework.backends.mesos.settings import MesosSettings

__all__ = ["MesosBackend", "MesosSettings"]
