"""Where each component runs: its own event loop on its own thread, and its HTTP server.

A master or an agent is, as in libprocess, a process that handles one message at a time:
``Actor.post`` queues a call on its loop (messages between components are never direct
calls, so no component ever runs inside another's handler), ``Actor.call`` runs one and
waits (for the test's queries), ``Actor.later`` is its timer; ``Actor.guest`` is another
component on the same loop (instant agents and their masters share one). ``HttpServer`` runs
uvicorn on that same loop (agents; masters have ``http_server.py``'s), so request handlers
touch the component's state directly. ``EventStream`` is one chunked RecordIO response (a
framework's or an executor's events).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from aurora_provider.mesos.recordio import encode
from tests.mesos_cluster.wire import Json

T = TypeVar("T")
log = logging.getLogger(__name__)


class Actor:
    """An event loop on a daemon thread; exceptions in what it runs are logged and kept in
    ``errors`` (shared by the cluster, which reports them when it stops).

    ``guest(name)`` is another actor on this one's loop and thread (instant agents and
    their masters share one): its messages still go through the loop, never as direct
    calls, and stopping it drops what it is sent from then on while the loop runs on."""

    def __init__(self, name: str, errors: list[str], *, host: Actor | None = None) -> None:
        self.name = name
        self.errors = errors
        self._host = host
        if host is None:
            self.loop = asyncio.new_event_loop()
            self.loop.set_exception_handler(self._loop_error)
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        else:
            self.loop, self._thread = host.loop, host._thread
        self._stopped = False

    def guest(self, name: str) -> Actor:
        return Actor(name, self.errors, host=self)

    def start(self) -> None:
        if self._host is None:
            self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop later; dropped once the actor has stopped."""
        if self._stopped:
            return
        if threading.get_ident() == self._thread.ident:  # from its own loop: no wake-up
            self.loop.call_soon(self._guarded, fn, args)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            self.loop.call_soon_threadsafe(self._guarded, fn, args)

    def later(self, delay: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        """A timer; only from the actor's own thread."""
        return self.loop.call_later(max(delay, 0.0), self._guarded, fn, args)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
        """Run ``fn(*args)`` on the loop and return its result (from another thread)."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as e:
                future.set_exception(e)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def run(self, coroutine: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the loop and wait for it (from another thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """A task on the loop whose failure is recorded; only from the actor's thread."""
        task = self.loop.create_task(coroutine)
        task.add_done_callback(self._task_done)
        return task

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._host is not None:  # the host's loop runs on, for the others
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(30)

    def _guarded(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self._stopped and self._host is not None:
            return  # a message (or timer) of a guest that has stopped: lost
        try:
            fn(*args)
        except Exception as e:
            self.record(f"{self.name}: {getattr(fn, '__qualname__', fn)} failed: {e!r}", e)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.record(f"{self.name}: task failed: {task.exception()!r}", task.exception())

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, ConnectionError | asyncio.CancelledError):
            return  # a peer went away: normal for streams of killed components
        self.record(f"{self.name}: {context.get('message')}: {error!r}", error)

    def record(self, line: str, error: BaseException | None) -> None:
        """A failure of the fixture itself: logged, and reported when the cluster stops."""
        log.error(line, exc_info=error)
        self.errors.append(line)


def bind_socket(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (a free port unless one is given)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class HttpServer:
    """uvicorn serving ``app`` on the actor's loop; ``stop(abort=True)`` drops every open
    connection at once, as the death of the process would."""

    def __init__(self, app: ASGIApp, actor: Actor, port: int = 0) -> None:
        self.app = app
        self.actor = actor
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        sock = bind_socket(self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        self._server = server

        async def serve() -> None:
            self._task = self.actor.spawn(server.serve(sockets=[sock]))
            while not server.started and not self._task.done():
                await asyncio.sleep(0.005)

        self.actor.run(serve())

    def stop(self, abort: bool = False) -> None:
        server, self._server = self._server, None
        if server is None:
            return

        async def shutdown() -> None:
            if abort:
                for connection in list(server.server_state.connections):
                    transport = getattr(connection, "transport", None)
                    if transport is not None:
                        transport.abort()
                server.force_exit = True
            server.should_exit = True
            if self._task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

        self.actor.run(shutdown())


class EventStream:
    """One subscriber's RecordIO event stream. ``send`` and ``close`` run on the owner's
    loop; ``on_close`` is told once when the stream ends, whoever ended it."""

    def __init__(self, on_close: Callable[[EventStream], None] | None = None) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._on_close = on_close
        self.closed = False

    def send(self, event: Json) -> None:
        if not self.closed:
            self._queue.put_nowait(encode(event))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    async def body(self) -> AsyncIterator[bytes]:
        """The records as they come: those queued meanwhile leave together, in one chunk
        (the chunks' boundaries are no part of the protocol)."""
        try:
            while (record := await self._queue.get()) is not None:
                records = [record]
                while not self._queue.empty():
                    more = self._queue.get_nowait()
                    if more is None:
                        yield b"".join(records)
                        return
                    records.append(more)
                yield b"".join(records) if len(records) > 1 else record
        finally:
            self.closed = True
            callback, self._on_close = self._on_close, None
            if callback is not None:
                callback(self)
