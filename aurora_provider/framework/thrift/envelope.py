"""Aurora's ``Response``: a code, messages, the server's identity and the call's result.

Our errors become Aurora's codes here, once: bad input, a missing job and a state that
refuses the request are ``INVALID_REQUEST`` (what Aurora answered for each), a refused
permission ``AUTH_FAILED``, a scheduler that cannot serve now ``ERROR_TRANSIENT`` (a client
retries it), anything else ``ERROR``.
"""

from __future__ import annotations

import logging
from typing import Any

from aurora_provider.api import errors as e
from aurora_provider.framework.thrift.idl import api
from aurora_provider.framework.thrift.registry import Reply, ThriftFailure
from aurora_provider.states.machine import IllegalTransition

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of names its code.
_CODES: tuple[tuple[type[Exception], str], ...] = (
    (e.Unauthorized, "AUTH_FAILED"),
    (e.Forbidden, "AUTH_FAILED"),
    (e.InvalidRequest, "INVALID_REQUEST"),
    (e.NotFound, "INVALID_REQUEST"),
    (e.Conflict, "INVALID_REQUEST"),
    (e.PayloadTooLarge, "INVALID_REQUEST"),
    (e.StoreFull, "ERROR_TRANSIENT"),
    (e.NotLeader, "ERROR_TRANSIENT"),
    (e.SchedulerUnavailable, "ERROR_TRANSIENT"),
    (IllegalTransition, "INVALID_REQUEST"),
)


def code_of(error: Exception) -> str:
    if isinstance(error, ThriftFailure):
        return error.code
    for cls, code in _CODES:
        if isinstance(error, cls):
            return code
    return "ERROR"


def message_of(error: Exception) -> str:
    if isinstance(error, e.ApiError | ThriftFailure):
        return error.message
    if isinstance(error, IllegalTransition):
        return str(error)
    return f"internal error: {type(error).__name__}: {error}"


def response(cluster: str, code: str, *, result: Any = None,
             messages: tuple[str, ...] | list[str] = ()) -> Any:
    t = api()
    return t.Response(
        responseCode=getattr(t.ResponseCode, code),
        serverInfo=t.ServerInfo(clusterName=cluster, statsUrlPrefix=""),
        result=result,
        details=[t.ResponseDetail(message=m) for m in messages])


def from_answer(cluster: str, answer: Any) -> Any:
    """A handler's return value (a Result, None or a Reply) as a Response."""
    if isinstance(answer, Reply):
        return response(cluster, answer.code, result=answer.result, messages=answer.messages)
    return response(cluster, "OK", result=answer)


def from_error(cluster: str, method: str, error: Exception) -> Any:
    code = code_of(error)
    if code == "ERROR":
        log.exception("thrift call %s failed", method, exc_info=error)
    return response(cluster, code, messages=[message_of(error)])
