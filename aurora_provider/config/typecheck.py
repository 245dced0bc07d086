"""Find the first field of a pystachio object that fails its type check, as a field path.

``Job.check()`` answers e.g. ``MesosJob[task] failed: Task[processes] failed: Element in
ProcessList failed check: Process[cmdline] is required.``; users want
``task.processes[1].cmdline: is required``. We walk the object ourselves, which also avoids
a pystachio 0.8 bug: ``check()`` of a Choice holding an invalid alternative returns None
(so ``Job.check()`` itself raises AttributeError).

Pystachio's public accessors interpolate, and interpolating a field holding a value of the
wrong type raises; so, like pystachio's own ``check()``, the walk reads the raw values
(``_schema_data``, ``_values``, ``_map``, ``_value``) placed in their parent's scopes.
"""

from __future__ import annotations

from typing import Any

from pystachio import Empty
from pystachio.choice import ChoiceContainer
from pystachio.composite import Structural
from pystachio.container import ListContainer, MapContainer

__all__ = ["first_type_problem"]


def first_type_problem(obj: Any) -> tuple[str, str] | None:
    """``(path, reason)`` of the first field of ``obj`` that fails its type check, or None."""
    return _walk(obj, "")


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _walk(value: Any, path: str) -> tuple[str, str] | None:
    scopes = value.scopes()
    if isinstance(value, Structural):
        for name, signature in type(value).TYPEMAP.items():
            child_path = _join(path, name)
            raw = value._schema_data[name]
            if raw is Empty:
                if signature.required:
                    return child_path, f"is required; set {name}= in the {type(value).__name__}"
                continue
            found = _walk(raw.in_scope(*scopes), child_path)
            if found:
                return found
        return None
    if isinstance(value, ListContainer):
        for index, element in enumerate(value._values):
            found = _walk(element.in_scope(*scopes), f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, MapContainer):
        for key, element in value._map:
            where = f"{path}[{key.get() if key.check().ok() else key}]"
            found = _walk(key.in_scope(*scopes), where) or _walk(element.in_scope(*scopes), where)
            if found:
                return found
        return None
    if isinstance(value, ChoiceContainer):
        raw = value._value
        for option in value.CHOICES:
            if isinstance(raw, option):
                return _walk(raw.in_scope(*scopes), path)
        try:
            chosen = value.unwrap()
        except ValueError:
            names = " or ".join(option.__name__ for option in value.CHOICES)
            return path, f"must be one of {names}"
        return _walk(chosen, path)
    check = value.check()
    if check is None or check.ok():
        return None
    return path, _reason(value, check)


def _reason(value: Any, check: Any) -> str:
    """pystachio's message for a leaf, e.g. "'{{n}}' not an integer"."""
    message = str(check.message()).strip().rstrip(".").replace("\n", " ")
    message = message.removeprefix("Unable to interpolate: ")
    try:
        _, refs = value.interpolate()
    except ValueError:  # a literal of the wrong type: pystachio's message says it all
        return message
    if refs:
        names = ", ".join(sorted(str(ref) for ref in refs))
        return f"{message}: {names} is not bound; bind it with --bind NAME=VALUE or in the file"
    return message
