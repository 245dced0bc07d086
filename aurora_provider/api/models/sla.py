"""Wire models of SLA-aware maintenance: SLA drains and the hosts' SLA (safe domain and
probes), with Aurora's defaults."""

from __future__ import annotations

from pydantic import BaseModel, Field

from aurora_provider.api.models.base import Name, Strict
from aurora_provider.api.models.operations import HostsRequest

DEFAULT_SLA_PERCENTAGE = 95.0  # Aurora's default SLA: 95% of the instances...
DEFAULT_SLA_DURATION_SECS = 30 * 60.0  # ...RUNNING for the last 30 minutes
DEFAULT_FORCE_DRAIN_TIMEOUT_SECS = 7 * 86400.0  # sla_host_drain's --force_drain_timeout
DEFAULT_MIN_INSTANCE_COUNT = 10  # sla_list_safe_domain's --min_job_instance_count

class SlaDrainRequest(HostsRequest):
    """Drain under each job's SLA; jobs without a policy get ``percentage`` over
    ``duration_secs``; after ``timeout_secs`` tasks are drained regardless."""

    percentage: float = Field(default=DEFAULT_SLA_PERCENTAGE, gt=0, le=100, strict=True)
    duration_secs: float = Field(default=DEFAULT_SLA_DURATION_SECS, ge=0, strict=True)
    timeout_secs: float = Field(default=DEFAULT_FORCE_DRAIN_TIMEOUT_SECS, ge=0,
                                strict=True)


class SlaLimit(Strict):
    percentage: float = Field(gt=0, le=100, strict=True)
    duration_secs: float = Field(ge=0, strict=True)


class SlaHostsRequest(Strict):
    """Judge hosts as if each went down (only ``hosts``, when given)."""

    percentage: float = Field(gt=0, le=100, strict=True)
    duration_secs: float = Field(ge=0, strict=True)
    min_instance_count: int = Field(default=DEFAULT_MIN_INSTANCE_COUNT, ge=0,
                                    strict=True)
    hosts: list[Name] | None = Field(default=None, max_length=100_000)
    job_limits: dict[str, SlaLimit] = Field(
        default_factory=dict, description="by job key role/env/name: its own limit")


class SlaJobOnHost(BaseModel):
    job: str  # cluster/role/env/name
    predicted_percentage: float  # the job's SLA if the host went down
    safe: bool
    safe_in_secs: int | None  # 0 when safe; null when waiting would not be enough
    percentage: float
    duration_secs: float


class SlaHostModel(BaseModel):
    host: str
    safe: bool
    jobs: list[SlaJobOnHost]


class SlaHostList(BaseModel):
    hosts: list[SlaHostModel]
