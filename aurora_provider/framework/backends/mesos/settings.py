"""How the scheduler registers with Mesos and what it asks of it (the ``--mesos-*`` flags)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aurora_provider.framework.model.executors import CustomExecutor

DAY = 24 * 3600.0


@dataclass(frozen=True)
class MesosSettings:
    master: str  # "host:port" or "zk://host:port,.../path"
    framework_name: str = "Aurora"
    role: str | None = None  # None: Mesos's default role "*"
    principal: str | None = None
    secret: str | None = None
    user: str = ""  # the user tasks run as when the executor cannot say; "" = the agent's
    hostname: str = ""
    webui_url: str | None = None
    failover_timeout_secs: float = 21 * DAY  # Aurora's default: three weeks
    executor_command: str = "aurora-executor"
    executor_name: str = "AuroraExecutor"
    # Fetched into each executor's sandbox by the agent, executable (Aurora's
    # -thermos_executor_resources): the executor itself when agents do not install it.
    executor_uris: tuple[str, ...] = ()
    # Offers no pending task could use are declined with this filter (Aurora: 5 s).
    offer_filter_secs: float = 5.0
    # Unused offers are kept this long for tasks that become pending meanwhile.
    offer_hold_secs: float = 1.0
    # Aurora reconciles explicitly and implicitly every hour, and at every (re)subscription.
    reconcile_interval_secs: float = 3600.0
    # A kill without an answer is sent again after this long (Aurora retries kills too).
    kill_retry_secs: float = 30.0
    # ZooKeeper for the tasks' Announcers, and the serversets' root there, sent to every
    # executor in its task data (None: the executor's own flags say).
    announcer_ensemble: str | None = None
    announcer_zk_path_prefix: str | None = None
    # Other executors jobs may name (--custom-executor-config), launched as configured.
    custom_executors: Mapping[str, CustomExecutor] = field(default_factory=dict)
