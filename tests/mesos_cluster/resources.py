"""Resource arithmetic, as Mesos's ``Resources`` does it for the checks the master makes.

A ``Resources`` is a bag keyed by (name, type, reservation role, other identity): SCALAR
quantities add (to Mesos's 0.001 precision), RANGES and SET merge. ``contains`` is the test
"does the offer hold what the task asks for"; ``-`` takes a launched task's share out.
``parse_flag`` reads the agent ``--resources`` text (``cpus:2;mem:1024;ports:[31000-31010]``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.mesos_cluster.wire import Json

Key = tuple[str, str, str, str]  # name, type, reservation role, any other identity (JSON)
Ranges = tuple[tuple[int, int], ...]


def _round(amount: float) -> float:
    return round(amount * 1000) / 1000  # Mesos keeps scalars as fixed-point thousandths


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> Ranges:
    merged: list[list[int]] = []
    for begin, end in sorted(ranges):
        if merged and begin <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return tuple((b, e) for b, e in merged)


def subtract_ranges(have: Ranges, take: Ranges) -> Ranges:
    pieces = list(have)
    for tb, te in take:
        cut: list[tuple[int, int]] = []
        for b, e in pieces:
            if e < tb or b > te:
                cut.append((b, e))
                continue
            if b < tb:
                cut.append((b, tb - 1))
            if e > te:
                cut.append((te + 1, e))
        pieces = cut
    return merge_ranges(pieces)


def ranges_contain(have: Ranges, want: Ranges) -> bool:
    return all(any(b <= wb and we <= e for b, e in have) for wb, we in want)


def reservation_role(resource: Json) -> str:
    reservations = resource.get("reservations")
    if reservations:
        return str(reservations[-1].get("role", "*"))
    return str(resource.get("role", "*"))


_IDENTITY = ("disk", "revocable", "shared", "provider_id")


def _key(resource: Json) -> Key:
    if ("reservations" not in resource and "disk" not in resource  # the common case: no
            and "revocable" not in resource and "shared" not in resource  # reservation,
            and "provider_id" not in resource):  # no other identity
        return (str(resource["name"]), str(resource["type"]), str(resource.get("role", "*")),
                "")
    identity = {k: resource[k] for k in _IDENTITY if k in resource}
    return (str(resource["name"]), str(resource["type"]), reservation_role(resource),
            json.dumps(identity, sort_keys=True) if identity else "")


@dataclass
class Resources:
    scalars: dict[Key, float] = field(default_factory=dict)
    ranges: dict[Key, Ranges] = field(default_factory=dict)
    sets: dict[Key, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, resources: Iterable[Json]) -> Resources:
        total = cls()
        for resource in resources:
            total.add(resource)
        return total

    def add(self, resource: Json) -> None:
        key = _key(resource)
        kind = resource["type"]
        if kind == "SCALAR":
            amount = _round(self.scalars.get(key, 0.0) + float(resource["scalar"]["value"]))
            self.scalars[key] = amount
        elif kind == "RANGES":
            found = [(int(r["begin"]), int(r["end"]))
                     for r in resource.get("ranges", {}).get("range", [])]
            self.ranges[key] = merge_ranges([*self.ranges.get(key, ()), *found])
        elif kind == "SET":
            items = frozenset(resource.get("set", {}).get("item", []))
            self.sets[key] = self.sets.get(key, frozenset()) | items

    def __add__(self, other: Resources) -> Resources:
        total = self.copy()
        for key, amount in other.scalars.items():
            total.scalars[key] = _round(total.scalars.get(key, 0.0) + amount)
        for key, found in other.ranges.items():
            total.ranges[key] = merge_ranges([*total.ranges.get(key, ()), *found])
        for key, items in other.sets.items():
            total.sets[key] = total.sets.get(key, frozenset()) | items
        return total

    def __sub__(self, other: Resources) -> Resources:
        left = self.copy()
        for key, amount in other.scalars.items():
            remaining = _round(left.scalars.get(key, 0.0) - amount)
            if remaining > 0:
                left.scalars[key] = remaining
            else:
                left.scalars.pop(key, None)
        for key, found in other.ranges.items():
            remaining_ranges = subtract_ranges(left.ranges.get(key, ()), found)
            if remaining_ranges:
                left.ranges[key] = remaining_ranges
            else:
                left.ranges.pop(key, None)
        for key, items in other.sets.items():
            remaining_items = left.sets.get(key, frozenset()) - items
            if remaining_items:
                left.sets[key] = remaining_items
            else:
                left.sets.pop(key, None)
        return left

    def contains(self, other: Resources) -> bool:
        return (all(self.scalars.get(k, 0.0) + 1e-9 >= v for k, v in other.scalars.items())
                and all(ranges_contain(self.ranges.get(k, ()), v)
                        for k, v in other.ranges.items())
                and all(v <= self.sets.get(k, frozenset()) for k, v in other.sets.items()))

    def copy(self) -> Resources:
        return Resources(dict(self.scalars), dict(self.ranges), dict(self.sets))

    def empty(self) -> bool:
        return not (self.scalars or self.ranges or self.sets)

    def scalar(self, name: str) -> float:
        return _round(sum(v for (n, *_), v in self.scalars.items() if n == name))

    def roles(self) -> set[str]:
        return {k[2] for k in (*self.scalars, *self.ranges, *self.sets)}

    def for_role(self, role: str) -> Resources:
        """The unreserved ones and those reserved for ``role``: what that role is offered."""
        def keep(key: Key) -> bool:
            return key[2] in ("*", role)
        return Resources({k: v for k, v in self.scalars.items() if keep(k)},
                         {k: v for k, v in self.ranges.items() if keep(k)},
                         {k: v for k, v in self.sets.items() if keep(k)})

    def to_json(self, allocation_role: str | None = None) -> list[Json]:
        """v1 Resources in the pre-refinement format (``role``), as offers carry them."""
        out: list[Json] = []
        for key, amount in sorted(self.scalars.items()):
            out.append(_resource(key, {"scalar": {"value": amount}}, allocation_role))
        for key, found in sorted(self.ranges.items()):
            ranges = [{"begin": b, "end": e} for b, e in found]
            out.append(_resource(key, {"ranges": {"range": ranges}}, allocation_role))
        for key, items in sorted(self.sets.items()):
            out.append(_resource(key, {"set": {"item": sorted(items)}}, allocation_role))
        return out

    def __str__(self) -> str:
        parts = [f"{k[0]}({k[2]}):{v:g}" for k, v in sorted(self.scalars.items())]
        parts += [f"{k[0]}({k[2]}):[{','.join(f'{b}-{e}' for b, e in v)}]"
                  for k, v in sorted(self.ranges.items())]
        parts += [f"{k[0]}({k[2]}):{{{','.join(sorted(v))}}}"
                  for k, v in sorted(self.sets.items())]
        return "; ".join(parts) or "{}"


def _resource(key: Key, quantity: Json, allocation_role: str | None) -> Json:
    name, kind, role, identity = key
    resource: Json = {"name": name, "type": kind, **quantity, "role": role}
    if identity:
        resource.update(json.loads(identity))
    if allocation_role is not None:
        resource["allocation_info"] = {"role": allocation_role}
    return resource


def invalid(resources: list[Json]) -> str | None:
    """Why these resources are malformed, as Mesos's resource::validate, or None."""
    for resource in resources:
        name, kind = resource.get("name", ""), resource.get("type")
        if not name:
            return "Empty resource name"
        wanted = {"SCALAR": "scalar", "RANGES": "ranges", "SET": "set"}.get(str(kind))
        if wanted is None:
            return f"Unsupported resource type {kind} of '{name}'"
        if wanted not in resource:
            return f"Invalid {kind} resource '{name}': missing '{wanted}'"
        if kind == "SCALAR":
            amount = resource["scalar"]["value"]
            if not math.isfinite(amount) or amount < 0:
                return f"Invalid scalar resource '{name}': {amount} is negative or not finite"
        if kind == "RANGES":
            for r in resource["ranges"].get("range", []):
                if r["begin"] > r["end"]:
                    return f"Invalid ranges resource '{name}': {r['begin']} > {r['end']}"
        if "reservations" in resource and "role" in resource:
            return f"Resource '{name}' sets both 'role' and 'reservations'"
    return None


_FLAG_ITEM = re.compile(r"^\s*([^:(\s]+)\s*(?:\(([^)]*)\))?\s*:\s*(.+?)\s*$")


def parse_flag(text: str) -> list[Json]:
    """The agent's ``--resources`` text: ``name(role):value`` joined by ``;``, a value being a
    number (SCALAR), ``[b-e,...]`` (RANGES) or ``{a,b}`` (SET)."""
    out: list[Json] = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        match = _FLAG_ITEM.match(item)
        if not match:
            raise ValueError(f"bad resource {item!r} in {text!r}: expected name(role):value")
        name, role, raw = match.group(1), match.group(2) or "*", match.group(3)
        out.append(_flag_resource(name, role, raw, text))
    return out


def _flag_resource(name: str, role: str, raw: str, text: str) -> Json:
    resource: Json = {"name": name, "role": role}
    if raw.startswith("["):
        ranges = []
        for part in filter(None, (p.strip() for p in raw.strip("[]").split(","))):
            begin, _, end = part.partition("-")
            try:
                ranges.append({"begin": int(begin), "end": int(end or begin)})
            except ValueError as e:
                raise ValueError(f"bad range {part!r} of {name} in {text!r}") from e
        resource.update(type="RANGES", ranges={"range": ranges})
    elif raw.startswith("{"):
        items = [i.strip() for i in raw.strip("{}").split(",") if i.strip()]
        resource.update(type="SET", set={"item": items})
    else:
        try:
            resource.update(type="SCALAR", scalar={"value": float(raw)})
        except ValueError as e:
            raise ValueError(f"bad amount {raw!r} of {name} in {text!r}") from e
    return resource


def from_spec(spec: Any) -> list[Json]:
    """Agent resources from a test: ``--resources`` text, v1 JSON (a list), or a dict
    ``{"cpus": 2, "mem": 1024, "ports": [(31000, 31010)], "disks": {"a", "b"}}``."""
    if isinstance(spec, str):
        return parse_flag(spec)
    if isinstance(spec, list):
        return [dict(r) for r in spec]
    if isinstance(spec, dict):
        out: list[Json] = []
        for name, amount in spec.items():
            if isinstance(amount, int | float):
                out.append({"name": name, "type": "SCALAR", "scalar": {"value": float(amount)},
                            "role": "*"})
            elif isinstance(amount, set | frozenset):
                out.append({"name": name, "type": "SET", "set": {"item": sorted(amount)},
                            "role": "*"})
            else:
                ranges = [{"begin": int(b), "end": int(e)} for b, e in amount]
                out.append({"name": name, "type": "RANGES", "ranges": {"range": ranges},
                            "role": "*"})
        return out
    raise ValueError(f"agent resources must be text, a list or a dict, not {spec!r}")
