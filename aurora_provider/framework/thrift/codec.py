"""thriftpy2's structs read and written through Apache Thrift's own protocols.

thriftpy2 describes each struct by its ``thrift_spec`` (field id -> type, name, element
types); Apache Thrift's ``TJSONProtocol`` and ``TBinaryProtocol`` are the reference
encoders of the wire formats Aurora's clients speak. Walking the first with the second gives
both protocols byte for byte as Apache Thrift writes them, from the one IDL loaded at runtime.

A spec entry is ``(ttype, name, required)`` for a scalar and ``(ttype, name, info,
required)`` otherwise, where ``info`` is the struct or enum class, a list/set's element
(``ttype`` or ``(ttype, info)``) or a map's ``(key, value)`` pair of those.
"""

from __future__ import annotations

from typing import Any

from thrift.protocol.TProtocol import TProtocolBase, TProtocolException
from thrift.Thrift import TType

# thriftpy2 spells ``binary`` fields with a type of its own; on the wire it is a string.
_THRIFTPY_BINARY = 18

TypeInfo = Any  # an element description from a thrift_spec (see the module's docstring)


class ThriftDecodeError(ValueError):
    """A message's arguments do not decode as the IDL says."""


def _split(info: TypeInfo) -> tuple[int, TypeInfo]:
    if isinstance(info, tuple):
        return info[0], info[1]
    return info, None


def _wire_type(ttype: int) -> int:
    return TType.STRING if ttype == _THRIFTPY_BINARY else ttype


def write_struct(proto: TProtocolBase, obj: Any) -> None:
    proto.writeStructBegin(type(obj).__name__)
    for field_id, spec in obj.thrift_spec.items():
        value = getattr(obj, spec[1])
        if value is None:
            continue
        ttype = _wire_type(spec[0])
        proto.writeFieldBegin(spec[1], ttype, field_id)
        _write(proto, spec[0], spec[2] if len(spec) == 4 else None, value)
        proto.writeFieldEnd()
    proto.writeFieldStop()
    proto.writeStructEnd()


def _write(proto: TProtocolBase, ttype: int, info: TypeInfo, value: Any) -> None:
    if ttype == TType.STRUCT:
        write_struct(proto, value)
    elif ttype in (TType.LIST, TType.SET):
        elem_type, elem_info = _split(info)
        begin, end = ((proto.writeListBegin, proto.writeListEnd) if ttype == TType.LIST
                      else (proto.writeSetBegin, proto.writeSetEnd))
        begin(_wire_type(elem_type), len(value))
        for item in value:
            _write(proto, elem_type, elem_info, item)
        end()
    elif ttype == TType.MAP:
        (key_type, key_info), (val_type, val_info) = _split(info[0]), _split(info[1])
        proto.writeMapBegin(_wire_type(key_type), _wire_type(val_type), len(value))
        for key, val in value.items():
            _write(proto, key_type, key_info, key)
            _write(proto, val_type, val_info, val)
        proto.writeMapEnd()
    else:
        _SCALAR_WRITERS[ttype](proto, value)


_SCALAR_WRITERS: dict[int, Any] = {
    TType.BOOL: lambda p, v: p.writeBool(bool(v)),
    TType.BYTE: lambda p, v: p.writeByte(int(v)),
    TType.I16: lambda p, v: p.writeI16(int(v)),
    TType.I32: lambda p, v: p.writeI32(int(v)),
    TType.I64: lambda p, v: p.writeI64(int(v)),
    TType.DOUBLE: lambda p, v: p.writeDouble(float(v)),
    TType.STRING: lambda p, v: p.writeString(v),
    _THRIFTPY_BINARY: lambda p, v: p.writeBinary(v),
}


def read_struct(proto: TProtocolBase, cls: type) -> Any:
    """An instance of ``cls`` (its IDL defaults filled in); unknown fields are skipped, as
    every Thrift reader does, so newer clients still talk to this scheduler."""
    obj = cls()
    spec_of: dict[int, tuple[Any, ...]] = cls.thrift_spec  # type: ignore[attr-defined]
    proto.readStructBegin()
    while True:
        _, ttype, field_id = proto.readFieldBegin()
        if ttype == TType.STOP:
            break
        spec = spec_of.get(field_id)
        if spec is None or _wire_type(spec[0]) != ttype:
            proto.skip(ttype)
        else:
            setattr(obj, spec[1], _read(proto, spec[0], spec[2] if len(spec) == 4 else None))
        proto.readFieldEnd()
    proto.readStructEnd()
    return obj


def _read(proto: TProtocolBase, ttype: int, info: TypeInfo) -> Any:
    if ttype == TType.STRUCT:
        return read_struct(proto, info)
    if ttype == TType.LIST:
        elem_type, elem_info = _split(info)
        _, size = proto.readListBegin()
        items = [_read(proto, elem_type, elem_info) for _ in range(size)]
        proto.readListEnd()
        return items
    if ttype == TType.SET:
        elem_type, elem_info = _split(info)
        _, size = proto.readSetBegin()
        members = {_read(proto, elem_type, elem_info) for _ in range(size)}
        proto.readSetEnd()
        return members
    if ttype == TType.MAP:
        (key_type, key_info), (val_type, val_info) = _split(info[0]), _split(info[1])
        _, _, size = proto.readMapBegin()
        mapping = {}
        for _ in range(size):
            key = _read(proto, key_type, key_info)
            mapping[key] = _read(proto, val_type, val_info)
        proto.readMapEnd()
        return mapping
    reader = _SCALAR_READERS.get(ttype)
    if reader is None:
        raise TProtocolException(TProtocolException.INVALID_DATA, f"unknown type {ttype}")
    return reader(proto)


_SCALAR_READERS: dict[int, Any] = {
    TType.BOOL: lambda p: p.readBool(),
    TType.BYTE: lambda p: p.readByte(),
    TType.I16: lambda p: p.readI16(),
    TType.I32: lambda p: p.readI32(),
    TType.I64: lambda p: p.readI64(),
    TType.DOUBLE: lambda p: p.readDouble(),
    TType.STRING: lambda p: p.readString(),
    _THRIFTPY_BINARY: lambda p: p.readBinary(),
}
