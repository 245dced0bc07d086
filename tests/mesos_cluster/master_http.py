"""The master's HTTP face: ``/api/v1/scheduler``, ``/master/state``, ``/redirect``.

The scheduler endpoint answers in the real master's order: 401 (credentials required and
wrong), 307 to the leader (or 503 when none is known) from a master that does not lead, 503
while a new leader recovers, 405, 400/415 for a body it cannot read or that does not match
the v1 schema, 400 for a call that fails Mesos's call validation; then SUBSCRIBE opens the
event stream (200), and any other call needs a known framework (400), a subscribed one
(403) and its ``Mesos-Stream-Id`` (400 when missing or wrong) before its 202.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.mesos_cluster import wire
from tests.mesos_cluster.actor import EventStream
from tests.mesos_cluster.http_common import (
    APPLICATION_JSON,
    Refusal,
    basic_principal,
    check_call,
    require_json_accept,
    unexpected,
)
from tests.mesos_cluster.http_server import PipelinedHttpServer, RawRequest
from tests.mesos_cluster.master_state import RecordedCall
from tests.mesos_cluster.wire import Json

if TYPE_CHECKING:
    from tests.mesos_cluster.master import Master

REALM = "mesos-master-scheduler"
SCHEDULER_PATHS = ("/api/v1/scheduler", "/master/api/v1/scheduler")
# Calls whose payload Mesos requires (the field is the type's lower-case name).
NEEDS_PAYLOAD = {"ACCEPT", "DECLINE", "ACCEPT_INVERSE_OFFERS", "DECLINE_INVERSE_OFFERS",
                 "KILL", "SHUTDOWN", "ACKNOWLEDGE", "ACKNOWLEDGE_OPERATION_STATUS",
                 "RECONCILE", "RECONCILE_OPERATIONS", "MESSAGE", "REQUEST",
                 "UPDATE_FRAMEWORK"}


def call_error(call: Json, principal: str | None) -> str | None:
    """Mesos's validation::scheduler::call::validate."""
    kind = call.get("type")
    if kind is None:
        return "Expecting 'type' to be present"
    if kind == "SUBSCRIBE":
        if "subscribe" not in call:
            return "Expecting 'subscribe' to be present"
        info = call["subscribe"]["framework_info"]
        if wire.value(info.get("id")) != wire.value(call.get("framework_id")):
            return "'framework_id' differs from 'subscribe.framework_info.id'"
        if principal and "principal" in info and info["principal"] != principal:
            return (f"Authenticated principal '{principal}' does not match principal "
                    f"'{info['principal']}' set in `FrameworkInfo`")
        return None
    if "framework_id" not in call:
        return "Expecting 'framework_id' to be present"
    payload = kind.lower()
    if kind in NEEDS_PAYLOAD and payload not in call:
        return f"Expecting '{payload}' to be present"
    if kind == "ACKNOWLEDGE":
        return wire.uuid_error(call["acknowledge"]["uuid"])
    if kind == "ACKNOWLEDGE_OPERATION_STATUS":
        return wire.uuid_error(call["acknowledge_operation_status"]["uuid"])
    if kind == "UPDATE_FRAMEWORK":
        info = call["update_framework"]["framework_info"]
        if wire.value(info.get("id")) != wire.value(call["framework_id"]):
            return "'framework_id' differs from 'update_framework.framework_info.id'"
    return None


class SchedulerEndpoint:
    """The scheduler API; ``handle`` answers one request at once (it never waits)."""

    def __init__(self, master: Master) -> None:
        self.master = master

    def handle(self, request: RawRequest) -> Response:
        body: Json | None = None
        try:
            principal = self._authenticate(request)
            self._check_leading(request)
            call = body = check_call(request, request.content, "scheduler.Call")
            problem = call_error(call, principal)
            if problem:
                raise Refusal(400, f"Failed to validate scheduler::Call: {problem}")
            response = (self._subscribe(request, call, principal)
                        if call["type"] == "SUBSCRIBE" else self._call(request, call, principal))
        except Refusal as refusal:
            self._record(body or refusal.body or _any_json(request.content), refusal.status)
            return refusal.response()
        except Exception as e:
            return unexpected(self.master.actor, request.path, e)
        self._record(body, response.status_code)
        return response

    def _authenticate(self, request: RawRequest) -> str | None:
        credentials = self.master.config.credentials
        if credentials is None:
            return None
        given = basic_principal(request)
        if given != credentials:
            raise Refusal(401, "Unauthorized",
                          {"WWW-Authenticate": f'Basic realm="{REALM}"'})
        return given[0]

    def _check_leading(self, request: RawRequest) -> None:
        master = self.master
        if not master.serving():
            leader = master.leader
            if leader is None or leader.get("id") == master.id:
                raise Refusal(503, "No leader elected")
            target = f"//{leader['hostname']}:{leader['port']}{request.path}"
            if request.query:
                target += f"?{request.query}"
            raise Refusal(307, "", {"Location": target})
        if not master.recovered:
            raise Refusal(503, "Master has not finished recovery")

    def _subscribe(self, request: RawRequest, call: Json, principal: str | None) -> Response:
        require_json_accept(request)
        if "mesos-stream-id" in request.headers:
            raise Refusal(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
        subscribe = call["subscribe"]
        stream_id = str(uuidlib.uuid4())
        stream = EventStream(self.master.stream_closed)
        self.master.subscribe(subscribe["framework_info"],
                              list(subscribe.get("suppressed_roles", [])), principal, stream,
                              stream_id)
        return StreamingResponse(stream.body(), 200, media_type=APPLICATION_JSON,
                                 headers={"Mesos-Stream-Id": stream_id})

    def _call(self, request: RawRequest, call: Json, principal: str | None) -> Response:
        framework_id = wire.value(call["framework_id"])
        framework = self.master.frameworks.get(framework_id)
        if framework is None:
            raise Refusal(400, "Framework cannot be found")
        if principal and principal != framework.principal:
            raise Refusal(400, f"Authenticated principal '{principal}' does not match "
                          f"principal '{framework.principal}' set in `FrameworkInfo`")
        if not framework.connected:
            raise Refusal(403, "Framework is not subscribed")
        stream_id = request.headers.get("mesos-stream-id")
        if stream_id is None:
            raise Refusal(400, "All non-subscribe calls should include the 'Mesos-Stream-Id'"
                          " header")
        if stream_id != framework.stream_id:
            raise Refusal(400, f"The stream ID '{stream_id}' included in this request didn't"
                          " match the stream ID currently associated with framework ID "
                          f"{framework_id}")
        self.master.scheduler_calls.handle(framework, call)
        return Response(status_code=200 if call["type"] == "UPDATE_FRAMEWORK" else 202)

    def _record(self, body: Json | None, status: int) -> None:
        if body is not None:
            self.master.calls.append(
                RecordedCall(self.master.name, str(body.get("type", "")), body, status))


def _any_json(raw: bytes) -> Json | None:
    """The body as JSON if it is an object (to record a call refused before reading it)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def master_server(master: Master, port: int = 0) -> PipelinedHttpServer:
    """The master's HTTP server: the scheduler endpoint's requests are answered as they
    arrive (a framework makes thousands, pipelined), everything else by the routes below."""
    endpoint = SchedulerEndpoint(master)

    async def state(_request: Request) -> Response:
        return JSONResponse(master.state())

    async def redirect(_request: Request) -> Response:
        leader = master.leader
        if leader is None:
            return PlainTextResponse("No leader elected", 503)
        return Response(status_code=307,
                        headers={"Location": f"//{leader['hostname']}:{leader['port']}"})

    async def health(_request: Request) -> Response:
        return Response(status_code=200)

    routes = Starlette(routes=[
        Route("/master/state", state), Route("/state", state),
        Route("/master/state.json", state),
        Route("/redirect", redirect), Route("/master/redirect", redirect),
        Route("/health", health), Route("/master/health", health),
    ])
    return PipelinedHttpServer({path: endpoint.handle for path in SCHEDULER_PATHS}, routes,
                               master.actor, port)
