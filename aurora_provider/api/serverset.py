"""Where the leading scheduler is: Aurora's serverset members in ZooKeeper.

The leader advertises itself as an ephemeral sequential ``member_NNNNNNNNNN`` znode under the
scheduler's path (``--zk-path``, the ``scheduler_zk_path`` of clusters.json) holding the
serverset JSON Aurora's scheduler wrote: ``{"serviceEndpoint": {"host": H, "port": P},
"additionalEndpoints": {"http": {...}}, "status": "ALIVE"}``. Only the leader advertises, so
the member with the lowest sequence is the leader (a deposed leader's node may linger for
one session timeout; the newer member wins only once it is the one left).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MEMBER_PREFIX = "member_"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def encode_member(endpoint: Endpoint) -> bytes:
    """The znode data of a scheduler advertising ``endpoint``."""
    where = {"host": endpoint.host, "port": endpoint.port}
    return json.dumps({"serviceEndpoint": where, "additionalEndpoints": {"http": where},
                       "status": "ALIVE"}).encode()


def decode_member(data: bytes) -> Endpoint | None:
    """The HTTP endpoint a member's data names (its ``http`` endpoint, else its service
    endpoint); None for data that is not a serverset member."""
    try:
        member: Any = json.loads(data)
        extra = member.get("additionalEndpoints") or {}
        where = extra.get("http") or member["serviceEndpoint"]
        return Endpoint(str(where["host"]), int(where["port"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def members(children: list[str]) -> list[str]:
    """The serverset members among a path's children, oldest (lowest sequence) first."""
    return sorted((c for c in children if c.startswith(MEMBER_PREFIX)),
                  key=lambda c: c[len(MEMBER_PREFIX):])
