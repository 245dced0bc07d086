"""Unauthenticated probes: /health, /leaderhealth (Aurora's), /metrics (Prometheus), and
Aurora's /vars and /vars.json (the same figures under Aurora's stat names)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aurora_provider.api import models as m
from aurora_provider.framework.http.deps import ApiServices, Services
from aurora_provider.framework.http.stat_vars import as_text, lifecycle_state, stat_vars

router = APIRouter(tags=["probes"])


@router.get("/health", response_class=PlainTextResponse)
def health(services: Services, response: Response) -> str:
    # Not ready while the backend cannot serve (e.g. no Mesos master has subscribed us):
    # the one line says why, for the admin and for load balancers alike.
    problem = services.readiness()
    if problem is None:
        return "OK"
    response.status_code = 503
    return problem


@router.get("/leaderhealth", response_class=PlainTextResponse)
def leaderhealth(services: Services, response: Response) -> str:
    # Aurora: 200 on the leader, 503 on a follower (502 when no leader is known).
    if services.is_leader():
        return "OK"
    response.status_code = 503
    return "not the leader"


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(services: Services) -> Response:
    return Response(generate_latest(services.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)


def _stats(services: ApiServices) -> dict[str, float | int]:
    state = lifecycle_state(services.is_leader(), services.readiness() is None)
    return stat_vars(services.metrics.registry, started_at=services.started_at, state=state)


@router.get("/vars", response_class=PlainTextResponse)
def aurora_vars(services: Services) -> PlainTextResponse:
    return PlainTextResponse(as_text(_stats(services)))


@router.get("/vars.json", response_model=m.StatVars)
def aurora_vars_json(services: Services) -> JSONResponse:
    return JSONResponse(_stats(services))
