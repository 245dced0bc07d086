"""One Thrift message in, one out: decode the call, authenticate, dispatch, encode the reply.

A body that is not a Thrift message at all raises ``MalformedMessage`` (the route answers 400
with its one line). From a readable message header on, every problem is answered in Thrift, as
a Thrift server does: an unknown method or undecodable arguments as a
``TApplicationException``, everything else as a ``Response`` with its code.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from thrift.protocol.TProtocol import TProtocolBase
from thrift.Thrift import TApplicationException, TMessageType
from thrift.transport.TTransport import TMemoryBuffer

from aurora_provider.api.errors import Unauthorized
from aurora_provider.framework.http.auth import Principal
from aurora_provider.framework.http.deps import ApiServices
from aurora_provider.framework.thrift import codec, envelope, registry
from aurora_provider.framework.thrift.idl import service
from aurora_provider.framework.thrift.protocols import Protocol


class MalformedMessage(ValueError):
    """The body is not a Thrift message in the protocol its Content-Type names."""


def caller_of(services: ApiServices, authorization: str | None) -> Principal:
    """The caller of a bearer token, or of HTTP Basic ``user:token`` as Aurora's clients
    send it (the password is the user's token; the user must be the token's)."""
    if not authorization:
        raise Unauthorized("missing Authorization header (Bearer <token>, or Basic with the "
                           "token as password)")
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return services.auth.from_header(authorization)
    if scheme.lower() != "basic":
        raise Unauthorized(f"Authorization scheme {scheme!r}: expected Bearer or Basic")
    try:
        user, sep, token = base64.b64decode(credentials.strip(), validate=True) \
            .decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise Unauthorized("Basic credentials are not base64 of 'user:password'") from err
    if not sep:
        raise Unauthorized("Basic credentials are not base64 of 'user:password'")
    principal = services.auth.authenticate(token)
    if principal.user != user:
        raise Unauthorized(f"Basic user {user!r} is not the user of this token")
    return principal


def process(body: bytes, reader: Protocol, writer: Protocol, services: ApiServices,
            authorization: str | None) -> bytes:
    iprot = reader.make(TMemoryBuffer(body))
    try:
        method, message_type, seqid = iprot.readMessageBegin()
    except Exception as err:
        raise MalformedMessage(f"the body is not a {reader.name} Thrift message "
                               f"({type(err).__name__}: {err})") from err
    out = TMemoryBuffer()
    oprot = writer.make(out)
    if message_type not in (TMessageType.CALL, TMessageType.ONEWAY):
        _exception(oprot, method, seqid, TApplicationException.INVALID_MESSAGE_TYPE,
                   f"message {method!r} is of type {message_type}, not a call")
        return _written(out)
    args_cls = getattr(service(), f"{method}_args", None)
    if args_cls is None:
        _exception(oprot, method, seqid, TApplicationException.UNKNOWN_METHOD,
                   f"Unknown method {method!r}")
        return _written(out)
    try:
        args = codec.read_struct(iprot, args_cls)
        iprot.readMessageEnd()
    except Exception as err:
        _exception(oprot, method, seqid, TApplicationException.PROTOCOL_ERROR,
                   f"the arguments of {method} do not decode: {type(err).__name__}: {err}")
        return _written(out)
    answer = _call(method, args, services, authorization)
    oprot.writeMessageBegin(method, TMessageType.REPLY, seqid)
    result = getattr(service(), f"{method}_result")(success=answer)
    codec.write_struct(oprot, result)
    oprot.writeMessageEnd()
    return _written(out)


def _call(method: str, args: Any, services: ApiServices, authorization: str | None) -> Any:
    cluster = services.cluster
    handler = registry.handler_for(method)
    if handler is None:
        return envelope.response(cluster, "ERROR",
                                 messages=[f"{method} is not served by this scheduler"])
    try:
        caller = caller_of(services, authorization)
        answer = handler(registry.CallContext(services, caller), args)
    except Exception as err:
        return envelope.from_error(cluster, method, err)
    return envelope.from_answer(cluster, answer)


def _exception(oprot: TProtocolBase, method: str, seqid: int, kind: int, message: str) -> None:
    oprot.writeMessageBegin(method, TMessageType.EXCEPTION, seqid)
    TApplicationException(kind, message).write(oprot)
    oprot.writeMessageEnd()


def _written(out: TMemoryBuffer) -> bytes:
    value: bytes = out.getvalue()
    return value
