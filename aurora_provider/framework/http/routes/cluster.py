"""Who am I, and which cluster is this."""

from __future__ import annotations

from fastapi import APIRouter

from aurora_provider import __version__
from aurora_provider.api import models as m
from aurora_provider.framework.http.deps import Caller, Services

router = APIRouter(prefix="/api/v1", tags=["cluster"])


@router.get("/whoami", response_model=m.WhoAmI, tags=["auth"])
def whoami(user: Caller) -> m.WhoAmI:
    return m.WhoAmI(user=user.user, roles=sorted(user.roles), admin=user.admin)


@router.get("/cluster", response_model=m.ClusterInfo)
def cluster(services: Services, user: Caller) -> m.ClusterInfo:
    return m.ClusterInfo(name=services.cluster, backend=services.backend_name,
                         leader=services.is_leader(), version=__version__,
                         observer_url=services.observer_url)
