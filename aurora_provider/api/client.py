"""Sync and async clients of the scheduler's REST API.

Both have every method of the endpoint table (``aurora_provider.api.endpoints``) and differ
only in how they send a request. Both retry through one :class:`RetryPolicy`, and raise the
typed errors of ``aurora_provider.api.errors``, chosen from the answer's code (else its
status): ``except JobNotFound`` / ``except NotFound`` / ``except Conflict``. A scheduler that
cannot be reached raises ``SchedulerUnavailable`` (``code`` "UNAVAILABLE", ``status`` 0).
The bearer token comes from the argument, ``AURORA_TOKEN``, or the token file that the
embedded scheduler writes (``$AURORA_HOME/token``, default ``~/.aurora/token``).

A scheduler replica that is not the leader answers 307 with the leader's URL in ``Location``.
The clients follow it themselves rather than through httpx's ``follow_redirects``, which
drops the ``Authorization`` header when the host changes: the same method, body and token go
to the leader, at most ``MAX_HOPS`` times, and the client remembers the leader (its
``base_url`` moves) for its next calls. When the remembered leader can no longer be reached,
the client goes back once to the URL it was made with, whose replica names the new leader.
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
REDIRECTS = frozenset({307, 308})
# A follower names the leader itself: one hop is the rule, a few cover an election under way.
MAX_HOPS = 3


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


class _LeaderGone(Exception):
    """The leader this client moved to cannot be reached (the request was not sent)."""


class _Client:
    """What both clients share: where the scheduler is, the token, following a follower's
    redirect to the leader, and reading answers."""

    def __init__(self, base_url: str = DEFAULT_URL, *, token: str | None = None,
                 token_file: Path | str | None = None, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, transport: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.home_url = self.base_url  # the URL the client was made with
        self.token_file = Path(token_file).expanduser() if token_file else default_token_file()
        self.token = find_token(token, self.token_file)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._transport = transport

    def _options(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        # No base_url: every request names its URL, so following the leader moves them all.
        return {"timeout": self.timeout, "headers": headers, "transport": self._transport}

    def _unreachable(self, url: str, error: httpx.HTTPError) -> SchedulerUnavailable:
        return SchedulerUnavailable(f"cannot reach the scheduler at {url}: {error}",
                                    status=0, code="UNAVAILABLE")

    def _arguments(self, request: Request, url: str | None) -> dict[str, Any]:
        """What httpx sends: the request's path and query under ``base_url``, or the URL a
        redirect named (``url``, whose query is the request's already)."""
        if url is None:
            return {"method": request.method, "url": f"{self.base_url}/{request.path.lstrip('/')}",
                    "json": request.body, "params": request.params}
        return {"method": request.method, "url": url, "json": request.body}

    def _failed(self, error: httpx.HTTPError, url: str | None) -> Exception:
        """What a request to ``url`` (None: under ``base_url``) that got no answer raises:
        ``_LeaderGone`` when it was never sent to the leader this client had moved to
        (going back home finds the new one)."""
        if (url is None and self.base_url != self.home_url
                and isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)):
            return _LeaderGone()
        return self._unreachable(url or self.base_url, error)

    def _redirect(self, response: httpx.Response, trail: list[str]) -> str | None:
        """Where a redirect answer sends the request (None: it is no redirect), added to
        ``trail`` (the URLs asked so far); a loop, too many hops or a Location that is not
        http(s) is one ``SchedulerUnavailable`` line."""
        here = response.request.url
        if not trail:
            trail.append(str(here))
        if response.status_code not in REDIRECTS:
            return None
        location = response.headers.get("Location")
        if not location:
            raise SchedulerUnavailable(f"the scheduler at {here} answered "
                                       f"{response.status_code} with no Location", status=0)
        target = here.join(location)
        if target.scheme not in ("http", "https"):
            raise SchedulerUnavailable(f"the scheduler at {here} redirected to {location!r}, "
                                       "which is not an http(s) URL", status=0)
        seen = str(target) in trail
        trail.append(str(target))
        if seen:
            raise SchedulerUnavailable("redirect loop between scheduler replicas: "
                                       + " -> ".join(trail), status=0)
        if len(trail) > MAX_HOPS + 1:
            raise SchedulerUnavailable(f"more than {MAX_HOPS} redirects between scheduler "
                                       "replicas: " + " -> ".join(trail), status=0)
        return str(target)

    def _move(self, url: str) -> None:
        """Send the next calls to the scheduler at ``url`` (its origin, under the path prefix
        of ``home_url``: replicas serve the API at the same path)."""
        target, prefix = httpx.URL(url), httpx.URL(self.home_url).path.rstrip("/")
        self.base_url = f"{target.scheme}://{target.netloc.decode()}{prefix}"

    def _checked(self, response: httpx.Response, request: Request) -> httpx.Response:
        if response.status_code < 400:
            return response
        hint = ""
        if response.status_code == 401 and not self.token:
            hint = (f"; no token was found: pass one, set AURORA_TOKEN, or write it to "
                    f"{self.token_file}")
        raise error_of(response, hint, request.missing)


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
        """Send with retries, to the leader; the answer, or its typed error."""
        try:
            response = self._following(request)
        except _LeaderGone:
            self._move(self.home_url)
            response = self._following(request)
        return self._checked(response, request)

    def _following(self, request: Request) -> httpx.Response:
        trail: list[str] = []
        url: str | None = None
        while True:
            try:
                response = self.retry.retrying(request.method)(
                    self._http.request, **self._arguments(request, url))
            except httpx.HTTPError as e:
                raise self._failed(e, url) from e
            url = self._redirect(response, trail)
            if url is None:
                break
        if len(trail) > 1:
            self._move(trail[-1])
        return response

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
        """Send with retries, to the leader; the answer, or its typed error."""
        try:
            response = await self._following(request)
        except _LeaderGone:
            self._move(self.home_url)
            response = await self._following(request)
        return self._checked(response, request)

    async def _following(self, request: Request) -> httpx.Response:
        trail: list[str] = []
        url: str | None = None
        while True:
            try:
                response: httpx.Response = await self.retry.async_retrying(request.method)(
                    self._http.request, **self._arguments(request, url))
            except httpx.HTTPError as e:
                raise self._failed(e, url) from e
            url = self._redirect(response, trail)
            if url is None:
                break
        if len(trail) > 1:
            self._move(trail[-1])
        return response

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
