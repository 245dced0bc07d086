"""Small pieces of the v1 wire format shared by the master and the agents.

Messages are kept as the v1 JSON has them (``Json`` dicts, ids as ``{"value": ...}``,
bytes as base64, enums as names). ``Update`` is the agent-to-master status update (Mesos's
internal ``StatusUpdate``), carrying the v1 ``TaskStatus`` the framework will see.
"""

from __future__ import annotations

import base64
import binascii
import marshal
import socket
import struct
import time
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

VERSION = "1.11.0"

# Mesos's isTerminalState(): UNREACHABLE and UNKNOWN are not terminal.
TERMINAL_STATES = frozenset({
    "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
    "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR",
})


def is_terminal(state: str) -> bool:
    return state in TERMINAL_STATES


def value(wrapped: Json | None) -> str:
    """The string of an id message (``{"value": "..."}``); "" when absent."""
    return str(wrapped.get("value", "")) if wrapped else ""


def wrap(text: str) -> Json:
    return {"value": text}


def new_uuid() -> str:
    """16 random bytes, base64: the ``uuid`` of a reliable status update."""
    return base64.b64encode(uuidlib.uuid4().bytes).decode()


def uuid_error(encoded: str) -> str | None:
    """Why ``encoded`` is not a base64 16-byte UUID (as Mesos's UUID::fromBytes), or None."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return f"'{encoded}' is not base64"
    if len(raw) != 16:
        return f"Not a valid UUID: {len(raw)} bytes instead of 16"
    return None


def uuid_text(encoded: str) -> str:
    """The canonical text of a base64 UUID, for messages and logs."""
    try:
        return str(uuidlib.UUID(bytes=base64.b64decode(encoded)))
    except ValueError:
        return encoded


def now() -> float:
    return time.time()


def time_info(seconds: float) -> Json:
    return {"nanoseconds": int(seconds * 1e9)}


def ip_uint32(ip: str) -> int:
    """MasterInfo.ip: the address in network order read as a little-endian integer."""
    packed: int = struct.unpack("<I", socket.inet_aton(ip))[0]
    return packed


_UNITS = (
    (7 * 86400.0, "weeks"), (86400.0, "days"), (3600.0, "hrs"), (60.0, "mins"),
    (1.0, "secs"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns"),
)


def duration_text(seconds: float) -> str:
    """A duration as stout prints it ("5secs", "15mins", "1.5secs"): what agents put in the
    executor's environment."""
    if seconds < 0:
        return "-" + duration_text(-seconds)
    for i, (unit, name) in enumerate(_UNITS):
        if seconds >= unit or unit == 1e-9:
            count = seconds / unit
            smaller = _UNITS[i + 1] if i + 1 < len(_UNITS) else None
            # A bucket that is not whole reads better one unit down ("90secs", not 1.5mins).
            if smaller and not _whole(count) and _whole(seconds / smaller[0]):
                return f"{_number(seconds / smaller[0])}{smaller[1]}"
            return f"{_number(count)}{name}"
    return "0ns"


def _whole(number: float) -> bool:
    return abs(number - round(number)) < 1e-9


def _number(number: float) -> str:
    return str(round(number)) if _whole(number) else f"{number:.15g}"


def task_status(task_id: str, state: str, source: str, *, message: str | None = None,
                reason: str | None = None, agent_id: str | None = None,
                executor_id: str | None = None, uuid: str | None = None,
                unreachable_time: float | None = None) -> Json:
    """A v1 TaskStatus stamped now, as Mesos's createStatusUpdate() builds one."""
    status: Json = {"task_id": wrap(task_id), "state": state, "source": source,
                    "timestamp": now()}
    if message is not None:
        status["message"] = message
    if reason is not None:
        status["reason"] = reason
    if agent_id:
        status["agent_id"] = wrap(agent_id)
    if executor_id:
        status["executor_id"] = wrap(executor_id)
    if uuid is not None:
        status["uuid"] = uuid
    if unreachable_time is not None:
        status["unreachable_time"] = time_info(unreachable_time)
    return status


@dataclass
class Update:
    """A status update on its way from an agent (or the master) to a framework."""

    framework_id: str
    status: Json
    latest_state: str | None = None  # the agent's newest state of the task, if later

    @property
    def task_id(self) -> str:
        return value(self.status["task_id"])

    @property
    def state(self) -> str:
        return str(self.status["state"])

    @property
    def uuid(self) -> str | None:
        found = self.status.get("uuid")
        return str(found) if found else None

    def copy(self) -> Update:
        return Update(self.framework_id, deep_copy(self.status), self.latest_state)


def deep_copy(message: Any) -> Any:
    """A copy of a JSON value, so that no two components share a mutable message.

    Through ``marshal`` (C, several times faster than walking the value here, which the
    benchmarks' thousands of launches feel) when the value holds only plain JSON types;
    a dict or list subclass is copied by walking it."""
    try:
        return marshal.loads(marshal.dumps(message))
    except ValueError:  # not plain JSON types only
        return _walk_copy(message)


def _walk_copy(message: Any) -> Any:
    kind = type(message)  # exact types first: every message is copied, most are plain
    if kind is dict:
        return {k: _walk_copy(v) for k, v in message.items()}
    if kind is list:
        return [_walk_copy(v) for v in message]
    if kind is str or kind is int or kind is float or kind is bool or message is None:
        return message
    if isinstance(message, dict):
        return {k: _walk_copy(v) for k, v in message.items()}
    if isinstance(message, list):
        return [_walk_copy(v) for v in message]
    return message


def has_capability(framework_info: Json, capability: str) -> bool:
    return any(c.get("type") == capability for c in framework_info.get("capabilities", []))


def framework_roles(framework_info: Json) -> list[str]:
    if has_capability(framework_info, "MULTI_ROLE"):
        return list(framework_info.get("roles", []))
    return [framework_info.get("role", "*")]
