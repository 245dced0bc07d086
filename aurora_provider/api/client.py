"""Sync and async clients of the scheduler's REST API.

Both have every method of the endpoint table (``aurora_provider.api.endpoints``) and differ
only in how they send a request. Both retry through one :class:`RetryPolicy`, and raise the
typed errors of ``aurora_provider.api.errors``, chosen from the answer's code (else its
status): ``except JobNotFound`` / ``except NotFound`` / ``except Conflict``. A scheduler that
cannot be reached raises ``SchedulerUnavailable`` (``code`` "UNAVAILABLE", ``status`` 0).
The bearer token comes from the argument, ``AURORA_TOKEN``, or the token file that the
embedded scheduler writes (``$AURORA_HOME/token``, default ``~/.aurora/token``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from aurora_provider.api.endpoint import AsyncSender, Request, SyncSender
from aurora_provider.api.endpoints import Endpoints, Key
from aurora_provider.api.endpoints import job_path as job_path
from aurora_provider.api.errors import ApiError, NotFound, SchedulerUnavailable, error_from_wire
from aurora_provider.api.paths import default_token_file
from aurora_provider.api.retry import RetryPolicy
from aurora_provider.api.task_lists import JobTasks, TaskCollector

DEFAULT_URL = "http://127.0.0.1:8081"


def find_token(token: str | None = None, token_file: Path | str | None = None) -> str | None:
    """The argument, else ``AURORA_TOKEN``, else the token file's content, else None."""
    if token:
        return token
    if os.environ.get("AURORA_TOKEN"):
        return os.environ["AURORA_TOKEN"]
    path = Path(token_file).expanduser() if token_file else default_token_file()
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def error_of(response: httpx.Response, hint: str = "",
             missing: type[NotFound] = NotFound) -> ApiError:
    """The typed error of an answer: from its JSON ``code``/``message``, else its status
    (code ``HTTP_ERROR``, the body's text as the message); a 404 is ``missing``."""
    try:
        body = response.json()
        code, message = str(body["code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        code = "HTTP_ERROR"
        message = " ".join(response.text.split())[:200] or response.reason_phrase
    return error_from_wire(response.status_code, code, message + hint, missing=missing)


class _Client:
    """What both clients share: where the scheduler is, the token, and reading answers."""

    def __init__(self, base_url: str = DEFAULT_URL, *, token: str | None = None,
                 token_file: Path | str | None = None, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, transport: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_file = Path(token_file).expanduser() if token_file else default_token_file()
        self.token = find_token(token, self.token_file)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._transport = transport

    def _options(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {"base_url": self.base_url, "timeout": self.timeout, "headers": headers,
                "transport": self._transport}

    def _unreachable(self, error: httpx.HTTPError) -> SchedulerUnavailable:
        return SchedulerUnavailable(f"cannot reach the scheduler at {self.base_url}: {error}",
                                    status=0, code="UNAVAILABLE")

    def _checked(self, response: httpx.Response, request: Request) -> httpx.Response:
        if response.status_code < 400:
            return response
        hint = ""
        if response.status_code == 401 and not self.token:
            hint = (f"; no token was found: pass one, set AURORA_TOKEN, or write it to "
                    f"{self.token_file}")
        raise error_of(response, hint, request.missing)


def _arguments(request: Request) -> dict[str, Any]:
    return {"method": request.method, "url": request.path, "json": request.body,
            "params": request.params}


class SchedulerClient(_Client, SyncSender, Endpoints):
    """Blocking client. Use as a context manager or call ``close()``.

    :param base_url: the scheduler, e.g. ``http://127.0.0.1:8081``.
    :param token: the bearer token (default: ``AURORA_TOKEN``, else the token file).
    :param token_file: where to read the token (default ``$AURORA_HOME/token``).
    :param timeout: seconds for each HTTP request.
    :param retry: the retry policy (default ``RetryPolicy()``).
    :param transport: an httpx transport in place of the network (tests pass
        ``httpx.MockTransport``).
    """

    def __init__(self, base_url: str = DEFAULT_URL, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._http = httpx.Client(**self._options())

    def __enter__(self) -> SchedulerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, request: Request) -> httpx.Response:
        """Send with retries; the answer, or its typed error."""
        try:
            response = self.retry.retrying(request.method)(
                self._http.request, **_arguments(request))
        except httpx.HTTPError as e:
            raise self._unreachable(e) from e
        return self._checked(response, request)

    def request(self, method: str, path: str, body: Any = None,
                params: Mapping[str, str] | None = None) -> httpx.Response:
        """Any request, with the retries and errors of the endpoints."""
        return self.send(Request(method, path, body, dict(params) if params else None))

    def job_task_lists(self, key: Key, *, terminal_limit: int | None = None,
                       events: bool = False) -> JobTasks:
        """The job's active tasks and up to ``terminal_limit`` of its newest terminal ones
        (None: all), read a page at a time (``JobNotFound`` for a job it does not know)."""
        collector = TaskCollector(terminal_limit)
        cursor: str | None = None
        while True:
            page = self.job_tasks(key, collector.page_size(), cursor, events=events)
            cursor = collector.add(page)
            if cursor is None:
                return collector.tasks


class AsyncSchedulerClient(_Client, AsyncSender, Endpoints):
    """Non-blocking client (for triggers): the methods of ``SchedulerClient``, awaited.

    Parameters as :class:`SchedulerClient`; the policy's ``async_sleep`` waits between tries.
    """

    def __init__(self, base_url: str = DEFAULT_URL, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._http = httpx.AsyncClient(**self._options())

    async def __aenter__(self) -> AsyncSchedulerClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, request: Request) -> httpx.Response:
        """Send with retries; the answer, or its typed error."""
        try:
            response: httpx.Response = await self.retry.async_retrying(request.method)(
                self._http.request, **_arguments(request))
        except httpx.HTTPError as e:
            raise self._unreachable(e) from e
        return self._checked(response, request)

    async def request(self, method: str, path: str, body: Any = None,
                      params: Mapping[str, str] | None = None) -> httpx.Response:
        """Any request, with the retries and errors of the endpoints."""
        return await self.send(Request(method, path, body, dict(params) if params else None))

    async def job_task_lists(self, key: Key, *, terminal_limit: int | None = None,
                             events: bool = False) -> JobTasks:
        """As :meth:`SchedulerClient.job_task_lists`, awaited."""
        collector = TaskCollector(terminal_limit)
        cursor: str | None = None
        while True:
            page = await self.job_tasks(key, collector.page_size(), cursor, events=events)
            cursor = collector.add(page)
            if cursor is None:
                return collector.tasks
