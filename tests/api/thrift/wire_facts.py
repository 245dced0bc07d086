"""The wire facts of a loaded Thrift IDL, as plain JSON: for each struct/union its fields
(id -> name, type, required, default), each enum's values, each service method's argument
fields. Two IDLs with equal facts are the same wire format."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def _type(info: Any) -> Any:
    if isinstance(info, type):
        return info.__name__
    if isinstance(info, tuple):
        return [_type(i) for i in info]
    return info


def _fields(cls: Any) -> dict[str, Any]:
    defaults = dict(getattr(cls, "default_spec", ()))
    out = {}
    for field_id, spec in cls.thrift_spec.items():
        name = spec[1]
        out[str(field_id)] = [name, _type((spec[0], *spec[2:-1])), spec[-1],
                              repr(defaults.get(name))]
    return out


def wire_facts(module: ModuleType) -> dict[str, Any]:
    facts: dict[str, Any] = {"structs": {}, "enums": {}, "services": {}}
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or not isinstance(obj, type):
            continue
        if hasattr(obj, "thrift_services"):
            facts["services"][name] = {m: _fields(getattr(obj, f"{m}_args"))
                                       for m in sorted(obj.thrift_services)}
        elif hasattr(obj, "thrift_spec"):
            facts["structs"][name] = _fields(obj)
        elif hasattr(obj, "_VALUES_TO_NAMES"):
            facts["enums"][name] = {str(v): n for v, n in sorted(obj._VALUES_TO_NAMES.items())}
    return facts
