"""Clusters known to the CLI, from ``clusters.json`` files as Aurora's client read them.

Files are read in this order, later ones overriding earlier entries of the same name:
``/etc/aurora/clusters.json``, ``$AURORA_HOME/clusters.json`` (``~/.aurora``), and the file
named by ``AURORA_CLUSTERS``. Each holds a list of clusters (or ``{"clusters": [...]}``):
``{"name": "devcluster", "scheduler_uri": "http://127.0.0.1:8081",
"auth_token_file": "~/.aurora/token", "ui_url": "http://127.0.0.1:8080"}`` (``ui_url``:
Airflow's UI, for ``aurora job open``). ``devcluster`` is built in.

Where the scheduler is comes from ``scheduler_uri``, or, as in Aurora, from ZooKeeper:
``"zk": "zk1.example.com"`` (a host, a comma-separated string or a list of hosts, each may
carry its own ``:port``), ``"zk_port": 2181`` (the default) and ``"scheduler_zk_path":
"/aurora/scheduler"`` name the ensemble and the path where the leading scheduler advertises
itself. A cluster without ``scheduler_uri`` asks ZooKeeper for the leader each time one of
its clients is made (never while clusters are only read or listed); with ``scheduler_uri``
too, the URI is used, and a replica that is not the leader redirects the client to it.

``"docker_registry": "https://registry.example.com"`` names the Docker registry that pins
``{{docker.image[NAME][TAG]}}`` by digest for the cluster's jobs (default, as in Aurora:
Docker Hub, ``https://registry-1.docker.io``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurora_provider.api.client import DEFAULT_URL, SchedulerClient
from aurora_provider.api.discovery import LeaderPath, leader_path
from aurora_provider.api.docker_registry import DOCKER_HUB, DockerRegistry
from aurora_provider.api.paths import aurora_home
from aurora_provider.errors import AuroraError

SYSTEM_FILE = Path("/etc/aurora/clusters.json")


class ClusterError(AuroraError):
    """A clusters file is malformed or names no such cluster; ``str(e)`` is one line."""


@dataclass(frozen=True)
class Cluster:
    """One cluster: its scheduler's URI, or where in ZooKeeper its leader is, or both."""

    name: str
    scheduler_uri: str | None
    auth_token_file: str | None = None
    ui_url: str | None = None  # Airflow's UI, where the Aurora pages are
    leader: LeaderPath | None = None
    docker_registry: str | None = None  # None: Docker Hub

    def scheduler_url(self) -> str:
        """``scheduler_uri``, else the leader's URL, read from ZooKeeper now."""
        if self.scheduler_uri:
            return self.scheduler_uri
        if self.leader is None:
            raise ClusterError(f"cluster {self.name!r} names neither \"scheduler_uri\" nor "
                               "\"zk\" and \"scheduler_zk_path\"")
        return self.leader.leader_url()

    def client(self, **kwargs: Any) -> SchedulerClient:
        return SchedulerClient(self.scheduler_url(), token_file=self.auth_token_file,
                               **kwargs)

    def registry(self) -> DockerRegistry:
        """The Docker registry that pins this cluster's ``docker.image`` refs."""
        return DockerRegistry(self.docker_registry or DOCKER_HUB)

    def entry(self) -> dict[str, Any]:
        """The cluster as a clusters.json entry (the keys it sets)."""
        zk = self.leader
        entry: dict[str, Any] = {
            "name": self.name, "scheduler_uri": self.scheduler_uri,
            "auth_token_file": self.auth_token_file, "ui_url": self.ui_url,
            "zk": zk and zk.zk, "zk_port": zk and zk.zk_port, "scheduler_zk_path": zk and zk.path,
            "docker_registry": self.docker_registry}
        return {k: v for k, v in entry.items() if v is not None}


BUILT_IN = Cluster("devcluster", DEFAULT_URL, ui_url="http://127.0.0.1:8080")


def cluster_files() -> list[Path]:
    files = [SYSTEM_FILE, aurora_home() / "clusters.json"]
    named = os.environ.get("AURORA_CLUSTERS")
    if named:
        files.append(Path(named).expanduser())
    return files


def _read(path: Path) -> list[Cluster]:
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise ClusterError(f"{path}: cannot read the clusters file ({e.strerror})") from e
    except ValueError as e:
        raise ClusterError(f"{path}: not JSON ({e})") from e
    entries = data.get("clusters") if isinstance(data, dict) and "clusters" in data else data
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise ClusterError(f"{path}: expected a list of clusters")
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ClusterError(f"{path}: cluster #{index} needs a \"name\"")
        found.append(_cluster(entry, f"{path}: cluster {entry['name']!r}"))
    return found


def _cluster(entry: dict[str, Any], where: str) -> Cluster:
    uri = _url(entry, "scheduler_uri", where)
    try:
        leader = leader_path(entry.get("zk"), entry.get("zk_port"),
                             entry.get("scheduler_zk_path"))
    except ValueError as e:
        raise ClusterError(f"{where}: {e}") from e
    if uri is None and leader is None:
        raise ClusterError(f"{where} needs \"scheduler_uri\" as an http(s) URL, or \"zk\" "
                           "and \"scheduler_zk_path\" to find the leading scheduler")
    ui_url = _url(entry, "ui_url", where)
    token_file = entry.get("auth_token_file")
    return Cluster(entry["name"], uri, str(token_file) if token_file else None, ui_url, leader,
                   _url(entry, "docker_registry", where))


def _url(entry: dict[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ClusterError(f"{where}: \"{key}\" must be an http(s) URL")
    return value.rstrip("/")


def load_clusters() -> dict[str, Cluster]:
    clusters = {BUILT_IN.name: BUILT_IN}
    for path in cluster_files():
        if path.exists() or path == Path(os.environ.get("AURORA_CLUSTERS", "\0")):
            for cluster in _read(path):
                clusters[cluster.name] = cluster
    return clusters


def get_cluster(name: str) -> Cluster:
    clusters = load_clusters()
    if name not in clusters:
        known = ", ".join(sorted(clusters))
        raise ClusterError(f"unknown cluster {name!r} (known: {known}); add it to a "
                           "clusters.json or name a file with AURORA_CLUSTERS")
    return clusters[name]
