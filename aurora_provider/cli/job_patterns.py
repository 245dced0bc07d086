"""Job keys with wildcards, as Aurora's client matched them: ``devcluster/www-data/*/*``,
``devcluster/*/prod/*``, or a shorter key (``devcluster/www-data``: every job below it).

Each of ROLE, ENV and NAME is a shell glob matched on its own (``*`` never spans a ``/``);
the cluster must be named, since it picks the scheduler to ask.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from aurora_provider.api import SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError

GLOB_CHARS = frozenset("*?[")


def is_pattern(text: str) -> bool:
    """Whether ``text`` names several jobs (a glob, or fewer than four parts)."""
    return bool(GLOB_CHARS & set(text)) or len(text.strip("/").split("/")) < 4


@dataclass(frozen=True)
class KeyPattern:
    cluster: str
    parts: tuple[str, str, str]  # role, environment, name globs

    @classmethod
    def parse(cls, text: str) -> KeyPattern:
        parts = text.strip("/").split("/")
        if len(parts) > 4 or not parts[0] or any(not p for p in parts):
            raise ClusterError(f"{text!r}: expected CLUSTER[/ROLE[/ENV[/NAME]]], each part a "
                               "name or a glob such as www-*")
        if GLOB_CHARS & set(parts[0]):
            raise ClusterError(f"{text!r}: the cluster {parts[0]!r} cannot be a glob; name "
                               "the cluster to ask")
        role, env, name = [*parts[1:], "*", "*", "*"][:3]
        return cls(parts[0], (role, env, name))

    def __str__(self) -> str:
        return "/".join((self.cluster, *self.parts))

    def matches(self, key: str) -> bool:
        cluster, *rest = key.split("/")
        return cluster == self.cluster and len(rest) == 3 and all(
            fnmatch.fnmatchcase(part, glob) for part, glob in zip(rest, self.parts,
                                                                  strict=True))

    def jobs(self, client: SchedulerClient) -> list[m.JobSummary]:
        """The scheduler's jobs this pattern matches, by key."""
        listed = client.list_jobs(f"{self.cluster}/*")
        return sorted((j for j in listed.jobs if self.matches(j.key)), key=lambda j: j.key)
