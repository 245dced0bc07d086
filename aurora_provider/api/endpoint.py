"""What an endpoint is: one remote call described as data, and read from a client, the
method that makes it.

An :class:`Endpoint` is the HTTP method, the path template (with its ``{parameters}``; a
``[/{part}]`` is left out when its parameter is None), the response (a pydantic model, or
``str`` for plain text) and a *builder*: a small function whose signature is the client
method's, and which says what goes into the path, the body and the query string
(:class:`Parts`). Read from a :class:`SyncSender` an endpoint is a blocking method; from an
:class:`AsyncSender`, an awaitable one. The table of the scheduler's endpoints is
``aurora_provider.api.endpoints``.
"""

from __future__ import annotations

import abc
import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, cast, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from aurora_provider.api.errors import ApiError, NotFound, ServerError

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

_PARAM = re.compile(r"\{(\w+)\}")
_OPTIONAL = re.compile(r"\[([^\]]*)\]")
_WITH_BODY = frozenset({"POST", "PUT"})


@dataclass(frozen=True)
class Request:
    """One request, ready to send: the path is expanded, the query holds only strings."""

    method: str
    path: str
    body: Any = None
    params: dict[str, str] | None = None
    # What a 404 of this endpoint means (not part of what is sent).
    missing: type[NotFound] = field(default=NotFound, compare=False)


@dataclass(frozen=True)
class Parts:
    """What a builder puts in a request: path parameters, the JSON body, the query string
    (None values are left out of it)."""

    path: Mapping[str, object] = field(default_factory=dict)
    body: Any = None
    query: Mapping[str, object | None] = field(default_factory=dict)


class SyncSender(abc.ABC):
    """A client whose endpoints block: ``send`` returns the (successful) response."""

    @abc.abstractmethod
    def send(self, request: Request) -> httpx.Response: ...


class AsyncSender(abc.ABC):
    """A client whose endpoints are awaited."""

    @abc.abstractmethod
    async def send(self, request: Request) -> httpx.Response: ...


class Endpoint(Generic[P, R]):
    """One remote call; read from a client, the method that makes it.

    :param method: the HTTP method.
    :param path: the path template, e.g. ``/api/v1/jobs/{role}/{environment}/{name}``.
    :param response: the model the answer is read into, or ``str`` for its text.
    :param build: the method's signature and body: the request's :class:`Parts`.
    :param doc: the method's docstring.
    :param missing: the error of a 404 here (``JobNotFound`` on the job routes...).
    :param raises: errors this endpoint answers beyond those every endpoint of its kind
        does (``aurora_provider.api.endpoints.errors_of`` says which; the OpenAPI document
        declares them).
    """

    def __init__(self, method: str, path: str, response: type[R], build: Callable[P, Parts],
                 doc: str = "", *, missing: type[NotFound] = NotFound,
                 raises: tuple[type[ApiError], ...] = ()) -> None:
        self.method = method
        self.missing = missing
        self.raises = raises
        self.path = path
        self.response = response
        self.build = build
        self.name = build.__name__
        self.doc = doc or build.__doc__ or ""
        self.signature = inspect.signature(build).replace(return_annotation=response)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def request(self, *args: P.args, **kwargs: P.kwargs) -> Request:
        parts = self.build(*args, **kwargs)
        body = {} if parts.body is None and self.method in _WITH_BODY else parts.body
        params = {k: str(v) for k, v in parts.query.items() if v is not None}
        return Request(self.method, expand(self.path, parts.path), body, params or None,
                       self.missing)

    def parse(self, response: httpx.Response) -> R:
        if self.response is str:
            return cast(R, response.text)
        model = cast(type[BaseModel], self.response)
        try:
            return cast(R, model.model_validate(response.json()))
        except ValidationError as e:  # an older or broken scheduler: one line, no traceback
            first = e.errors()[0]
            problem = f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}"
        except ValueError as e:
            problem = f"not JSON ({e})"
        raise ServerError(f"the scheduler's answer to {self.method} {self.path} is not a "
                          f"{model.__name__}: {problem}")

    @overload
    def __get__(self, client: None, owner: type) -> Endpoint[P, R]: ...

    @overload
    def __get__(self, client: SyncSender, owner: type) -> Callable[P, R]: ...

    @overload
    def __get__(self, client: AsyncSender, owner: type) -> Callable[P, Awaitable[R]]: ...

    def __get__(self, client: object, owner: type) -> Any:
        if isinstance(client, AsyncSender):
            return self._awaitable(client)
        if isinstance(client, SyncSender):
            return self._blocking(client)
        return self  # read from the table itself

    def _blocking(self, client: SyncSender) -> Callable[..., R]:
        def call(*args: Any, **kwargs: Any) -> R:
            return self.parse(client.send(self.request(*args, **kwargs)))

        return self._described(call)

    def _awaitable(self, client: AsyncSender) -> Callable[..., Awaitable[R]]:
        async def call(*args: Any, **kwargs: Any) -> R:
            return self.parse(await client.send(self.request(*args, **kwargs)))

        return self._described(call)

    def _described(self, method: F) -> F:
        """``method`` named, documented and signed as the endpoint (for help() and tests)."""
        target: Any = method
        target.__name__ = target.__qualname__ = self.name
        target.__doc__ = self.doc
        target.__signature__ = self.signature
        return method


def expand(template: str, values: Mapping[str, object]) -> str:
    """The path of ``template`` with ``values`` (each one escaped as a path segment)."""

    def optional(match: re.Match[str]) -> str:
        inner = match.group(1)
        return inner if all(values.get(n) is not None for n in _PARAM.findall(inner)) else ""

    path = _OPTIONAL.sub(optional, template)
    return _PARAM.sub(lambda p: quote(str(values[p.group(1)]), safe=""), path)
