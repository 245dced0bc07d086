"""Strict validation of the v1 JSON messages the master and the agents receive.

``check("scheduler.Call", body, "call")`` walks the JSON against ``protos.MESSAGES`` and
returns a normalized copy (``null`` dropped, numbers and booleans given as strings parsed,
as Mesos's JSON parser does), or raises ``SchemaError`` with one line naming the path:
``call.accept.operations[0].launch.task_infos[0].resourcs: unknown field``.

It is stricter than Mesos on purpose, so that a client's mistake fails a test instead of
being silently dropped: Mesos ignores unknown fields and unknown values of optional enums,
and takes a lone value for a repeated field; here all three are errors.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from tests.mesos_cluster.protos import ENUMS, MESSAGES

INTEGER_BOUNDS = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
SCALARS = {"string", "bytes", "bool", "double", "float", *INTEGER_BOUNDS}


class SchemaError(ValueError):
    """A received message does not match its v1 definition; the text names the path."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False
    repeated: bool = False
    map: bool = False


@cache
def fields(message: str) -> dict[str, Field]:
    """The fields of ``message``, parsed from its line in ``MESSAGES``."""
    parsed: dict[str, Field] = {}
    for spec in MESSAGES[message].split():
        name, _, kind = spec.partition(":")
        required, repeated = kind.endswith("!"), kind.endswith("*")
        kind = kind.rstrip("!*")
        is_map = kind.startswith("{")
        parsed[name] = Field(name, kind.strip("{}"), required, repeated, is_map)
    return parsed


@cache
def enum_values(enum: str) -> frozenset[str]:
    return frozenset(ENUMS[enum].split())


def check(message: str, value: Any, path: str) -> dict[str, Any]:
    """``value`` validated as ``message``, normalized; ``SchemaError`` names what is wrong.

    A message as well-formed senders send it (every value of its own JSON type) is checked
    by the validator compiled for its type (``_compiled``): the same checks, without the
    paths that only an error needs. Anything else, an error included, goes the interpreted
    way, which names the path of what is wrong, or normalizes what Mesos reads leniently.
    """
    try:
        return _compiled(message)(value)
    except _Unusual:
        return _message(message, value, path)


def _message(message: str, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(f"{path}: expected an object ({message}), got {_kind(value)}")
    known = fields(message)
    out: dict[str, Any] = {}
    for key, item in value.items():
        field = known.get(key)
        if field is None:
            raise SchemaError(f"{path}.{key}: unknown field (not in {message})")
        if item is None:  # Mesos reads null as "not set"
            continue
        where = f"{path}.{key}"
        if field.map:
            if not isinstance(item, dict):
                raise SchemaError(f"{where}: expected an object (a map), got {_kind(item)}")
            out[key] = {k: _value(field.type, v, f"{where}.{k}") for k, v in item.items()}
        elif field.repeated:
            if not isinstance(item, list):
                raise SchemaError(f"{where}: expected an array, got {_kind(item)}")
            out[key] = [_value(field.type, v, f"{where}[{i}]") for i, v in enumerate(item)]
        else:
            out[key] = _value(field.type, item, where)
    for field in known.values():
        if field.required and field.name not in out:
            raise SchemaError(f"{path}.{field.name}: missing required field of {message}")
    return out


def _value(kind: str, value: Any, path: str) -> Any:
    if kind in MESSAGES:
        return _message(kind, value, path)
    if kind in ENUMS:
        if not isinstance(value, str):
            raise SchemaError(f"{path}: expected a {kind} name (string), got {_kind(value)}")
        if value not in enum_values(kind):
            raise SchemaError(f"{path}: {value!r} is not a {kind}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise SchemaError(f"{path}: expected a string, got {_kind(value)}")
        return value
    if kind == "bytes":
        return _bytes(value, path)
    if kind == "bool":
        return _bool(value, path)
    if kind in ("double", "float"):
        return _double(value, path)
    if kind in INTEGER_BOUNDS:
        return _integer(kind, value, path)
    raise AssertionError(f"protos.py names an unknown type {kind!r} at {path}")


def _bytes(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"{path}: expected base64 bytes (a string), got {_kind(value)}")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise SchemaError(f"{path}: not base64 ({e})") from e
    return value


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):  # Mesos parses a string as a JSON boolean
        return bool(value == "true")
    raise SchemaError(f"{path}: expected a boolean, got {_kind(value)}")


def _double(value: Any, path: str) -> float:
    if isinstance(value, str):  # Mesos parses a string as a JSON number
        try:
            return float(value)
        except ValueError as e:
            raise SchemaError(f"{path}: expected a number, got {value!r}") from e
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{path}: expected a number, got {_kind(value)}")
    return float(value)


def _integer(kind: str, value: Any, path: str) -> int:
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError as e:
            raise SchemaError(f"{path}: expected an integer ({kind}), got {value!r}") from e
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise SchemaError(f"{path}: expected an integer ({kind}), got {_kind(value)}")
    if isinstance(number, float):
        if not math.isfinite(number) or number != int(number):
            raise SchemaError(f"{path}: expected an integer ({kind}), got {value!r}")
        number = int(number)
    low, high = INTEGER_BOUNDS[kind]
    if not low <= number <= high:
        raise SchemaError(f"{path}: {number} is out of range for {kind}")
    return int(number)


class _Unusual(Exception):
    """A value the compiled validators leave to the interpreted ones: wrong, or lenient."""


_UNUSUAL = _Unusual()
Validator = Callable[[Any], Any]


@cache
def _compiled(message: str) -> Callable[[Any], dict[str, Any]]:
    """A validator of ``message`` that accepts what ``_message`` accepts unchanged and
    returns what it returns, and raises ``_Unusual`` for anything else."""
    known: dict[str, Validator] = {}
    required = [f.name for f in fields(message).values() if f.required]

    def validate(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise _UNUSUAL
        out = {}
        for key, item in value.items():
            if item is None:
                if key not in known:
                    raise _UNUSUAL
                continue
            try:
                out[key] = known[key](item)
            except KeyError:
                raise _UNUSUAL from None
        for name in required:
            if name not in out:
                raise _UNUSUAL
        return out

    _COMPILING[message] = validate  # a message may contain itself (ContainerID.parent)
    try:
        for field in fields(message).values():
            known[field.name] = _field_validator(field)
    finally:
        del _COMPILING[message]
    return validate


_COMPILING: dict[str, Callable[[Any], dict[str, Any]]] = {}


def _field_validator(field: Field) -> Validator:
    one = _value_validator(field.type)
    if field.map:
        def mapping(item: Any) -> Any:
            if type(item) is not dict:
                raise _UNUSUAL
            return {k: one(v) for k, v in item.items()}
        return mapping
    if field.repeated:
        def repeated(item: Any) -> Any:
            if type(item) is not list:
                raise _UNUSUAL
            return [one(v) for v in item]
        return repeated
    return one


def _value_validator(kind: str) -> Validator:
    if kind in MESSAGES:
        if kind in _COMPILING:
            return lambda value: _compiled(kind)(value)  # itself, once compiled
        return _compiled(kind)
    if kind in ENUMS:
        names = enum_values(kind)

        def enum(value: Any) -> Any:
            if type(value) is not str or value not in names:
                raise _UNUSUAL
            return value
        return enum
    if kind == "string":
        def string(value: Any) -> Any:
            if type(value) is not str:
                raise _UNUSUAL
            return value
        return string
    if kind == "bytes":
        def raw(value: Any) -> Any:
            if type(value) is not str:
                raise _UNUSUAL
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise _UNUSUAL from None
            return value
        return raw
    if kind == "bool":
        def boolean(value: Any) -> Any:
            if type(value) is not bool:
                raise _UNUSUAL
            return value
        return boolean
    if kind in ("double", "float"):
        def double(value: Any) -> Any:
            if type(value) is float:
                return value
            if type(value) is not int:
                raise _UNUSUAL
            return float(value)
        return double
    if kind in INTEGER_BOUNDS:
        low, high = INTEGER_BOUNDS[kind]

        def integer(value: Any) -> Any:
            if type(value) is not int or not low <= value <= high:
                raise _UNUSUAL
            return value
        return integer
    raise AssertionError(f"protos.py names an unknown type {kind!r}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}".lower()
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    return f"{type(value).__name__} {value!r}"


def all_types_known() -> list[str]:
    """Types named in ``MESSAGES`` that are neither a scalar, a message nor an enum."""
    missing = []
    for message in MESSAGES:
        for field in fields(message).values():
            if field.type not in SCALARS and field.type not in MESSAGES | ENUMS:
                missing.append(f"{message}.{field.name}: {field.type}")
    return missing
