"""The agent's HTTP face: the v1 executor API ``/api/v1/executor``, ``/state`` and the files
API (``agent_files.py``).

As the real agent answers: 405, 400/415 for a body it cannot read, 400 when the call fails
Mesos's executor call validation or names a framework or executor this agent did not
launch, 403 for a call other than SUBSCRIBE from an executor not subscribed yet, 503 for
updates while the agent recovers from a restart; SUBSCRIBE opens the event stream (200),
UPDATE and MESSAGE get 202.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.mesos_cluster import agent_files, wire
from tests.mesos_cluster.actor import EventStream
from tests.mesos_cluster.http_common import (
    ALL_METHODS,
    APPLICATION_JSON,
    Refusal,
    read_call,
    require_json_accept,
    unexpected,
)
from tests.mesos_cluster.master_state import RecordedCall
from tests.mesos_cluster.wire import Json

if TYPE_CHECKING:
    from tests.mesos_cluster.agent import Agent


def call_error(call: Json, agent_id: str | None) -> str | None:
    """Mesos's validateExecutorCall (plus the agent id check Mesos does silently)."""
    kind = call.get("type")
    if kind is None:
        return "Expecting 'type' to be present"
    if kind == "SUBSCRIBE" and "subscribe" not in call:
        return "Expecting 'subscribe' to be present"
    if kind == "MESSAGE" and "message" not in call:
        return "Expecting 'message' to be present"
    if kind != "UPDATE":
        return None
    if "update" not in call:
        return "Expecting 'update' to be present"
    status = call["update"]["status"]
    executor_id = wire.value(call["executor_id"])
    if "uuid" not in status:
        return "Expecting 'uuid' to be present"
    problem = wire.uuid_error(status["uuid"])
    if problem:
        return problem
    if "executor_id" in status and wire.value(status["executor_id"]) != executor_id:
        return (f"ExecutorID in Call: {executor_id} does not match ExecutorID in TaskStatus: "
                f"{wire.value(status['executor_id'])}")
    if status.get("source") != "SOURCE_EXECUTOR":
        return (f"Received Call from executor {executor_id} of framework "
                f"{wire.value(call['framework_id'])} with invalid source, expecting "
                "'SOURCE_EXECUTOR'")
    if status["state"] == "TASK_STAGING":
        return (f"Received TASK_STAGING from executor {executor_id} of framework "
                f"{wire.value(call['framework_id'])} which is not allowed")
    if "agent_id" in status and wire.value(status["agent_id"]) != agent_id:
        return (f"TaskStatus.agent_id {wire.value(status['agent_id'])} is not this agent's"
                f" ({agent_id}): Mesos would drop this update")
    return None


class ExecutorEndpoint:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def handle(self, request: Request) -> Response:
        call: Json | None = None
        try:
            call = await read_call(request, "executor.Call")
            response = self._handle(request, call)
        except Refusal as refusal:
            self._record(call or refusal.body, refusal.status)
            return refusal.response()
        except Exception as e:
            return unexpected(self.agent.actor, request.url.path, e)
        self._record(call, response.status_code)
        return response

    def _handle(self, request: Request, call: Json) -> Response:
        agent = self.agent
        problem = call_error(call, agent.agent_id)
        if problem:
            raise Refusal(400, f"Failed to validate Executor::Call: {problem}")
        kind = call["type"]
        if kind == "SUBSCRIBE":
            require_json_accept(request)
        elif kind == "HEARTBEAT":
            return Response(status_code=202)
        elif agent.recovering:
            raise Refusal(503, "Agent has not finished recovery")
        framework_id = wire.value(call["framework_id"])
        if framework_id not in agent.frameworks:
            raise Refusal(400, "Framework cannot be found")
        executor = agent.executor(framework_id, wire.value(call["executor_id"]))
        if executor is None:
            raise Refusal(400, "Executor cannot be found")
        if executor.state == "REGISTERING" and kind != "SUBSCRIBE":
            raise Refusal(403, "Executor is not subscribed")
        if kind == "SUBSCRIBE":
            stream = EventStream(agent.stream_closed)
            agent.subscribe_executor(executor, call["subscribe"], stream)
            return StreamingResponse(stream.body(), 200, media_type=APPLICATION_JSON)
        if kind == "UPDATE":
            agent.executor_update(executor, call["update"]["status"])
        elif kind == "MESSAGE":
            agent.executor_message(executor, call["message"]["data"])
        return Response(status_code=202)

    def _record(self, call: Json | None, status: int) -> None:
        if call is not None:
            self.agent.calls.append(
                RecordedCall(self.agent.name, str(call.get("type", "")), call, status))


def executor_app(agent: Agent) -> Starlette:
    endpoint = ExecutorEndpoint(agent)

    async def state(_request: Request) -> Response:
        return JSONResponse(agent.state())

    root = agent_files.work_root(agent.config.work_dir)

    async def read(request: Request) -> Response:
        return agent_files.read(root, request)

    async def browse(request: Request) -> Response:
        return agent_files.browse(root, request)

    return Starlette(routes=[
        Route("/api/v1/executor", endpoint.handle, methods=ALL_METHODS),
        Route("/slave(1)/api/v1/executor", endpoint.handle, methods=ALL_METHODS),
        Route("/state", state), Route("/slave(1)/state", state),
        Route("/state.json", state),
        Route("/files/read", read), Route("/files/read.json", read),
        Route("/files/browse", browse), Route("/files/browse.json", browse),
    ])
