"""What the scheduler-facing verbs share: keys and instances on the command line, the
client of a key's cluster, and JSON output. Their errors are ``AuroraError``s, which
``aurora``'s one entry (``cli.entry.run_main``) prints as one line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from aurora_provider.api import SchedulerClient
from aurora_provider.cli.clusters import ClusterError, get_cluster
from aurora_provider.config import JobKey

Handler = Callable[[argparse.Namespace], int]


def parse_instances(text: str) -> list[int]:
    """``0,2-4`` -> [0, 2, 3, 4]."""
    found: set[int] = set()
    for part in text.split(","):
        begin, sep, end = part.strip().partition("-")
        if not begin.isdigit() or (sep and not end.isdigit()):
            raise ClusterError(f"instances {text!r}: expected a list like 0,2-4")
        first, last = int(begin), int(end) if sep else int(begin)
        if last < first:
            raise ClusterError(f"instances {text!r}: range {part!r} runs backwards")
        found.update(range(first, last + 1))
    return sorted(found)


def split_key(text: str, *, with_instances: bool) -> tuple[JobKey, str | None]:
    """``cluster/role/env/name[/instances]``."""
    parts = text.strip("/").split("/")
    spec = None
    if with_instances and len(parts) == 5:
        spec = parts.pop()
    return JobKey.parse("/".join(parts)), spec


def client_for(key: JobKey) -> SchedulerClient:
    """A client of the scheduler of the key's cluster (clusters.json)."""
    return get_cluster(key.cluster).client()


def print_json(value: BaseModel | dict[str, Any]) -> None:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    print(json.dumps(data, indent=2, sort_keys=True))


def add_verb(verbs: Any, name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
    """A verb's parser, with ``--json`` and the handler ``aurora`` calls."""
    p: argparse.ArgumentParser = verbs.add_parser(name, help=text, description=text)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=handler)
    return p
