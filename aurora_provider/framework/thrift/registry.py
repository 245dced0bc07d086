"""The Thrift methods this scheduler answers: one handler per method of ``api.thrift``.

A handler is registered with ``@thrift_call("getJobs")`` and called as
``handler(ctx, args)``: ``ctx`` is the ``CallContext`` (the scheduler's services and the
authenticated caller), ``args`` the method's thriftpy2 ``<method>_args`` struct, with the
IDL's field names (``args.ownerRole``, ``args.query``). It returns what goes into the
``Response``: an ``api().Result`` (or None for a call with no result), or a ``Reply`` to add
messages or answer another code (WARNING...). Raising one of ``aurora_provider.api.errors``
answers that error's response code (``envelope.py``); ``ThriftFailure`` names the code itself.

Handlers run in a worker thread, as the REST routes do, and check permissions as the REST
routes do (``ctx.caller.require_role(role)``). The modules holding them are imported by
``load_handlers()``; a module adding handlers is listed in ``HANDLER_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aurora_provider.framework.errors import SchedulerError
from aurora_provider.framework.http.auth import Principal
from aurora_provider.framework.http.deps import ApiServices
from aurora_provider.framework.thrift import idl

# Modules of this package that register handlers, imported once by ``load_handlers``.
HANDLER_MODULES: tuple[str, ...] = (
    "reads",
    "jobs",
    "writes",
    "updates",
    "admin",
)


@dataclass(frozen=True)
class CallContext:
    services: ApiServices
    caller: Principal


@dataclass(frozen=True)
class Reply:
    """A handler's answer beyond a bare result: messages for ``details``, another code."""

    result: Any = None
    messages: tuple[str, ...] = ()
    code: str = "OK"  # a name of api.thrift's ResponseCode


class ThriftFailure(Exception):
    """A handler's refusal with an explicit response code (e.g. ``JOB_UPDATING_ERROR``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RegistryError(SchedulerError):
    """A handler registered for no method of the IDL, or twice."""


Handler = Callable[[CallContext, Any], Any]


@dataclass
class _Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    loaded: bool = False


_REGISTRY = _Registry()


def thrift_call(method: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if method not in idl.method_names():
            raise RegistryError(f"{fn.__module__}.{fn.__name__}: {method!r} is no method of "
                                f"api.thrift's AuroraAdmin service")
        if method in _REGISTRY.handlers:
            other = _REGISTRY.handlers[method]
            raise RegistryError(f"{method!r} has two handlers: {other.__module__}."
                                f"{other.__name__} and {fn.__module__}.{fn.__name__}")
        _REGISTRY.handlers[method] = fn
        return fn
    return register


def load_handlers() -> None:
    if _REGISTRY.loaded:
        return
    for name in HANDLER_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    _REGISTRY.loaded = True


def handler_for(method: str) -> Handler | None:
    load_handlers()
    return _REGISTRY.handlers.get(method)


def served_methods() -> tuple[str, ...]:
    load_handlers()
    return tuple(sorted(_REGISTRY.handlers))
