"""Serverset announcement in ZooKeeper (kazoo), as Aurora's announcer.

The task joins ``spec.path`` with an ephemeral sequential ``member_`` znode holding the
serverset JSON (``serviceEndpoint``, ``additionalEndpoints``, ``status: ALIVE``, ``shard``).
An ephemeral node dies with its session: after a session expiry (kazoo reports LOST, then
connects with a fresh session) the node is created again. ``leave`` removes it.

``ServersetAnnouncer`` is the status checker: it joins when the task starts, reports FAILED
when it could not, and leaves when the task stops.

A job without its own ``zk_path`` announces at ``<root>/<role>/<environment>/<name>``, the
root being ``/aurora`` unless the scheduler (or ``thermos run``) names another
(``--announcer-zk-path-prefix``, Aurora's executor ``--announcer-serverset-path``):
``under_root`` moves a bound spec's default path there.
"""

from __future__ import annotations

import json
import logging
import posixpath
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.spec import AnnouncerSpec, TaskSpec
from ..errors import ExecutorError
from .checker import INFINITY, Status

if TYPE_CHECKING:
    from ..core.dispatcher import ProcessRun

log = logging.getLogger(__name__)


DEFAULT_ROOT = "/aurora"


def checked_root(prefix: str) -> str:
    """``prefix`` as a serverset root (an absolute znode path), or one line on what is wrong."""
    root = prefix.rstrip("/") or "/"
    if not prefix.startswith("/") or "//" in prefix or any(
            part in (".", "..") for part in root.split("/")):
        raise ExecutorError(f"--announcer-zk-path-prefix {prefix!r}: expected an absolute "
                            "ZooKeeper path such as /aurora")
    return root


def under_root(spec: TaskSpec, prefix: str | None, *, own_path: bool) -> TaskSpec:
    """``spec`` announcing under ``prefix`` unless the job names its own ``zk_path``."""
    root = checked_root(prefix) if prefix is not None else None  # a bad one: even unused
    if spec.announcer is None or own_path or root is None:
        return spec
    _cluster, role, environment, name = spec.job_key.split("/")
    path = posixpath.join(root, role, environment, name)
    return spec._replace(announcer=spec.announcer._replace(path=path))


def names_own_path(job_json: str) -> bool:
    """Whether the job (its JSON, as the scheduler sends it) sets ``announce.zk_path``."""
    try:
        announce = json.loads(job_json).get("announce")
    except (ValueError, AttributeError):
        return False
    return isinstance(announce, dict) and announce.get("zk_path") is not None


def serverset_member(spec: AnnouncerSpec, hostname: str) -> dict[str, Any]:
    return {
        "serviceEndpoint": {"host": hostname, "port": spec.ports[spec.primary_port]},
        "additionalEndpoints": {
            name: {"host": hostname, "port": port} for name, port in sorted(spec.ports.items())
        },
        "status": "ALIVE",
        "shard": spec.shard,
    }


class Announcer:
    def __init__(self, spec: AnnouncerSpec, ensemble: str, hostname: str) -> None:
        from kazoo.client import KazooClient

        self._spec = spec
        self._data = json.dumps(serverset_member(spec, hostname)).encode()
        self._client = KazooClient(hosts=ensemble)
        self._lock = threading.Lock()
        self._lost = False
        self._leaving = False
        self.znode: str | None = None

    def join(self, timeout: float = 10.0) -> str:
        """Connect and create the member znode; its path."""
        self._client.start(timeout=timeout)
        self._client.add_listener(self._on_state)
        return self._create()

    def _create(self) -> str:
        with self._lock:
            self.znode = self._client.create(
                self._spec.path.rstrip("/") + "/member_",
                self._data,
                ephemeral=True,
                sequence=True,
                makepath=True,
            )
            return str(self.znode)

    def _on_state(self, state: str) -> None:
        from kazoo.protocol.states import KazooState

        if state == KazooState.LOST:
            self._lost = True
        elif state == KazooState.CONNECTED and self._lost and not self._leaving:
            self._lost = False
            # Listeners must not block the connection thread: re-join from another one.
            self._client.handler.spawn(self._rejoin)

    def _rejoin(self) -> None:
        try:
            log.info("ZooKeeper session expired; announcing again at %s", self._spec.path)
            self._create()
        except Exception:
            log.exception("re-announcing failed")

    def leave(self) -> None:
        self._leaving = True
        try:
            with self._lock:
                if self.znode is not None and self._client.connected:
                    self._client.delete(self.znode)
                    self.znode = None
        except Exception:
            log.warning("could not delete %s; it goes with the session", self.znode)
        finally:
            self._client.stop()
            self._client.close()


class ServersetAnnouncer:
    """The task's membership of its serverset while it serves.

    :param spec: the serverset path and endpoints.
    :param ensemble: the ZooKeeper hosts.
    :param hostname: the host announced.
    :param log: where to say what it does.
    :param timeout: seconds to connect and join before the task fails.
    """

    due = INFINITY  # kazoo's own threads re-join; nothing to poll for

    def __init__(self, spec: AnnouncerSpec, ensemble: str, hostname: str,
                 log: Callable[[str], None], timeout: float = 10.0) -> None:  # fmt: skip
        self._spec = spec
        self._timeout = timeout
        self._ensemble = ensemble
        self._hostname = hostname
        self._log = log
        self._announcer: Announcer | None = None
        self._failure: Status | None = None

    def start(self, now: float) -> None:
        announcer: Announcer | None = None
        try:
            announcer = Announcer(self._spec, self._ensemble, self._hostname)
            znode = announcer.join(self._timeout)
        except Exception as e:  # whatever kazoo raises, the task cannot be announced
            if announcer is not None:
                announcer.leave()
            reason = f"announcer could not join {self._spec.path}: {e}"
            self._failure = Status("failed", reason)
            return
        self._announcer = announcer
        self._log(f"announced at {znode}")

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None:
        return self._failure

    def stop(self) -> None:
        self._failure = None  # acted upon already; a stopped checker reports nothing
        if self._announcer is not None:
            self._announcer.leave()
            self._announcer = None
            self._log("withdrawn from the serverset")
