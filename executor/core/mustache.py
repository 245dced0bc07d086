"""Pystachio's template syntax, read without pystachio: ``{{name}}`` references in strings.

The same rules as ``pystachio.parsing.MustacheParser`` and ``pystachio.naming.Ref``:
``{{a.b[c]}}`` is a reference made of dereferences (``.b``) and indexes (``[c]``);
``{{&a}}`` is the escape that yields the text ``{{a}}``; a string is resolved again after
each substitution (a substituted value may complete a new reference), at most 100 times.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# A reference as its components: ("." name) or ("[" index), e.g. thermos.ports[http] is
# ((".", "thermos"), (".", "ports"), ("[", "http")).
Ref = tuple[tuple[str, str], ...]
Lookup = Callable[[Ref], str | None]

_MUSTACHE = re.compile(r"{{(&)?([^{}]+?)\1?}}")
_COMPONENT = re.compile(r"(\.[^\d\W]\w*|\[[\w\-\./]+\])")
_VALID_START = re.compile(r"[a-zA-Z_]")
MAX_ITERATIONS = 100


class TemplateError(ValueError):
    """A string holds a reference pystachio cannot parse, or one that never settles."""


def parse_ref(address: str) -> Ref:
    relative = address.startswith(("[", "."))
    splits = _COMPONENT.split(address if relative else "." + address)
    if (not relative and not _VALID_START.match(address)) or any(splits[0::2]):
        raise TemplateError(f"{{{{{address}}}}} is not a valid template reference")
    return tuple((p[0], p[1:] if p[0] == "." else p[1:-1]) for p in splits[1::2])


def ref_text(ref: Ref) -> str:
    """As pystachio prints it: ``{{thermos.ports[http]}}``."""
    address = "".join(f".{v}" if kind == "." else f"[{v}]" for kind, v in ref)
    return "{{" + address.removeprefix(".") + "}}"


def split(text: str, *, keep_escapes: bool) -> list[str | Ref]:
    """Text pieces and references, in order."""
    parts = _MUSTACHE.split(text)
    out: list[str | Ref] = [parts[0]] if parts[0] else []
    for k in range(1, len(parts), 3):
        escape, address, tail = parts[k], parts[k + 1], parts[k + 2]
        if escape:
            out.append("{{" + ("&" if keep_escapes else "") + address + "}}")
        else:
            out.append(parse_ref(address))
        if tail:
            out.append(tail)
    return out


def refs(text: str) -> list[Ref]:
    if "{{" not in text:
        return []
    return [p for p in split(text, keep_escapes=True) if isinstance(p, tuple)]


def resolve(text: str, lookup: Lookup) -> tuple[str, list[Ref]]:
    """``text`` with every reference ``lookup`` knows substituted; the ones left unbound."""
    if "{{" not in text:
        return text, []
    found: dict[Ref, str | None] = {}

    def once(stream: str, keep_escapes: bool) -> tuple[str, list[Ref], list[Ref]]:
        pieces = split(stream, keep_escapes=keep_escapes)
        joined: list[str] = []
        unbound: list[Ref] = []
        present: list[Ref] = []
        for piece in pieces:
            if isinstance(piece, str):
                joined.append(piece)
                continue
            present.append(piece)
            if piece not in found:
                found[piece] = lookup(piece)
            value = found[piece]
            if value is None:
                joined.append(ref_text(piece))
                unbound.append(piece)
            else:
                joined.append(value)
        return "".join(joined), unbound, present

    for _ in range(MAX_ITERATIONS):
        text, unbound, present = once(text, True)
        if unbound == present:
            break
    else:
        raise TemplateError(f"cannot interpolate {text!r}: it never settles")
    text, unbound, _ = once(text, False)
    return text, unbound
