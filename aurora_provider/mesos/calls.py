"""The bodies of the scheduler's calls, as ``scheduler.proto``'s ``Call`` in JSON.

Each function returns ``(type, body)``: the driver adds ``framework_id`` and puts ``body``
under the type's lower-case name (``{"type": "DECLINE", "decline": {...}}``); a None body
is a call without one (``TEARDOWN``, a ``REVIVE`` of every role).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .http import b64encode

Call = tuple[str, dict[str, Any] | None]


def value(text: str) -> dict[str, str]:
    """An id message (``OfferID``, ``TaskID``, ``AgentID``...) in JSON."""
    return {"value": text}


def subscribe(framework_info: Mapping[str, Any], framework_id: str | None) -> dict[str, Any]:
    """The whole SUBSCRIBE request: a failing-over framework names its id twice."""
    info = dict(framework_info)
    call: dict[str, Any] = {"type": "SUBSCRIBE", "subscribe": {"framework_info": info}}
    if framework_id:
        info["id"] = value(framework_id)
        call["framework_id"] = value(framework_id)
    return call


def accept(offer_ids: Sequence[str], operations: Sequence[Mapping[str, Any]],
           filters: Mapping[str, Any] | None = None) -> Call:
    body: dict[str, Any] = {"offer_ids": [value(o) for o in offer_ids],
                            "operations": [dict(op) for op in operations]}
    if filters is not None:
        body["filters"] = dict(filters)
    return "ACCEPT", body


def launch(offer_ids: Sequence[str], tasks: Sequence[Mapping[str, Any]],
           filters: Mapping[str, Any] | None = None) -> Call:
    operation = {"type": "LAUNCH", "launch": {"task_infos": [dict(t) for t in tasks]}}
    return accept(offer_ids, [operation], filters)


def decline(offer_ids: Sequence[str], filters: Mapping[str, Any] | None = None) -> Call:
    body: dict[str, Any] = {"offer_ids": [value(o) for o in offer_ids]}
    if filters is not None:
        body["filters"] = dict(filters)
    return "DECLINE", body


def revive(roles: Sequence[str] | None = None) -> Call:
    return "REVIVE", {"roles": list(roles)} if roles else None


def suppress(roles: Sequence[str] | None = None) -> Call:
    return "SUPPRESS", {"roles": list(roles)} if roles else None


def kill(task_id: str, agent_id: str | None = None) -> Call:
    body: dict[str, Any] = {"task_id": value(task_id)}
    if agent_id:
        body["agent_id"] = value(agent_id)
    return "KILL", body


def acknowledge(status: Mapping[str, Any]) -> Call:
    """The ACKNOWLEDGE of an update, its uuid sent back as received (base64 text)."""
    task = (status.get("task_id") or {}).get("value", "?")
    uuid = status.get("uuid")
    if not uuid:
        raise ValueError(f"the update of task {task} carries no uuid: only updates with "
                         "one are acknowledged (reconciliation answers have none)")
    agent = status.get("agent_id")
    if not agent:
        raise ValueError(f"the update of task {task} names no agent_id to acknowledge")
    return "ACKNOWLEDGE", {"agent_id": dict(agent), "task_id": dict(status["task_id"]),
                           "uuid": uuid}


def reconcile(tasks: Sequence[Mapping[str, Any]]) -> Call:
    """Explicit reconciliation of ``tasks`` (``task_id``, optional ``agent_id``), or the
    implicit one of every task when the list is empty."""
    return "RECONCILE", {"tasks": [dict(t) for t in tasks]}


def message(agent_id: str, executor_id: str, data: bytes) -> Call:
    return "MESSAGE", {"agent_id": value(agent_id), "executor_id": value(executor_id),
                       "data": b64encode(data)}


def teardown() -> Call:
    return "TEARDOWN", None
