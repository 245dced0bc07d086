"""A bare v1 scheduler over httpx, for the test cluster's own tests (not a driver).

``Subscription`` POSTs SUBSCRIBE, reads the RecordIO stream on a thread into a list of
events, and sends calls with its ``Mesos-Stream-Id``; it acknowledges nothing by itself, so
tests decide what is acknowledged and when.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx

from aurora_provider.mesos.recordio import Decoder
from tests.eventually import eventually
from tests.mesos_cluster.wire import Json

Predicate = Callable[[Json], bool]


def framework_info(name: str = "test", **fields: Any) -> Json:
    return {"user": "tester", "name": name, **fields}


class Subscription:
    def __init__(self, address: str, info: Json, *, framework_id: str | None = None,
                 auth: tuple[str, str] | None = None) -> None:
        self.address = address
        self.info = dict(info)
        self.auth = auth
        self.events: list[Json] = []
        self.framework_id = framework_id
        self.stream_id: str | None = None
        self.status: int | None = None
        self.ended = threading.Event()
        self._stream_client = httpx.Client(timeout=httpx.Timeout(30.0, read=None), auth=auth)
        self._client = httpx.Client(timeout=30.0, auth=auth)
        self._ready = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.address}/api/v1/scheduler"

    def start(self) -> Subscription:
        self._thread.start()
        self._ready.wait(30)
        if self.status == 200:  # SUBSCRIBED, or ERROR when the master refuses
            first: Json = eventually(lambda: self.events[0] if self.events else {},
                                     what="the first event")
            if first["type"] == "SUBSCRIBED":
                self.framework_id = first["subscribed"]["framework_id"]["value"]
        return self

    def _read(self) -> None:
        body: Json = {"type": "SUBSCRIBE", "subscribe": {"framework_info": self.info}}
        if self.framework_id:
            body["framework_id"] = {"value": self.framework_id}
            self.info["id"] = {"value": self.framework_id}
        try:
            with self._stream_client.stream("POST", self.url, json=body,
                                     headers={"Accept": "application/json"}) as response:
                self.status = response.status_code
                self._response = response
                self.stream_id = response.headers.get("mesos-stream-id")
                self._ready.set()
                decoder = Decoder()
                for chunk in response.iter_raw():
                    self.events.extend(decoder.messages(chunk))
        except httpx.HTTPError:
            pass  # the master went away: the stream ends
        finally:
            self._ready.set()
            self.ended.set()

    def call(self, kind: str, payload: Json | None = None, *,
             stream_id: str | None = None, headers: dict[str, str] | None = None,
             **extra: Any) -> httpx.Response:
        body: Json = {"type": kind, "framework_id": {"value": self.framework_id}, **extra}
        if payload is not None:
            body[kind.lower()] = payload
        sent = {"Mesos-Stream-Id": stream_id or self.stream_id or ""}
        sent.update(headers or {})
        return self._client.post(self.url, json=body, headers=sent)

    def wait(self, kind: str, predicate: Predicate | None = None, *, after: int = 0,
             timeout: float = 30.0) -> Json:
        """The first event of ``kind`` (matching ``predicate``) at index >= ``after``."""
        def found() -> Json:
            for event in self.events[after:]:
                if event.get("type") == kind and (predicate is None or predicate(event)):
                    return event
            return {}
        result: Json = eventually(found, timeout=timeout, what=f"a {kind} event")
        return result

    def of(self, kind: str) -> list[Json]:
        return [e for e in self.events if e.get("type") == kind]

    def updates(self, task_id: str) -> list[Json]:
        return [e["update"]["status"] for e in self.of("UPDATE")
                if e["update"]["status"]["task_id"]["value"] == task_id]

    def wait_update(self, task_id: str, state: str, timeout: float = 30.0) -> Json:
        event = self.wait("UPDATE", lambda e: e["update"]["status"]["task_id"]["value"]
                          == task_id and e["update"]["status"]["state"] == state,
                          timeout=timeout)
        status: Json = event["update"]["status"]
        return status

    def offers(self, count: int = 1, timeout: float = 30.0) -> list[Json]:
        """At least ``count`` offers received so far (waiting for them)."""
        def enough() -> list[Json]:
            offers = [o for e in self.of("OFFERS") for o in e["offers"]["offers"]]
            return offers if len(offers) >= count else []
        result: list[Json] = eventually(enough, timeout=timeout, what=f"{count} offer(s)")
        return result

    def acknowledge(self, status: Json) -> httpx.Response:
        return self.call("ACKNOWLEDGE", {"agent_id": status["agent_id"],
                                         "task_id": status["task_id"],
                                         "uuid": status["uuid"]})

    def disconnect(self) -> None:
        """Drop the subscription's connection (calls can still be sent)."""
        response = self._response
        if response is not None and not self.ended.is_set():
            # Closing a client does not wake a thread blocked reading: shut the socket.
            stream = response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        self._stream_client.close()

    def close(self) -> None:
        self.disconnect()
        self._client.close()
