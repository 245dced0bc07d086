"""Clusters known to the CLI, from ``clusters.json`` files as Aurora's client read them.

Files are read in this order, later ones overriding earlier entries of the same name:
``/etc/aurora/clusters.json``, ``$AURORA_HOME/clusters.json`` (``~/.aurora``), and the file
named by ``AURORA_CLUSTERS``. Each holds a list of clusters (or ``{"clusters": [...]}``):
``{"name": "devcluster", "scheduler_uri": "http://127.0.0.1:8081",
"auth_token_file": "~/.aurora/token", "ui_url": "http://127.0.0.1:8080"}`` (``ui_url``:
Airflow's UI, for ``aurora job open``). ``devcluster`` is built in.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurora_provider.api.client import DEFAULT_URL, SchedulerClient
from aurora_provider.api.paths import aurora_home
from aurora_provider.errors import AuroraError

SYSTEM_FILE = Path("/etc/aurora/clusters.json")


class ClusterError(AuroraError):
    """A clusters file is malformed or names no such cluster; ``str(e)`` is one line."""


@dataclass(frozen=True)
class Cluster:
    name: str
    scheduler_uri: str
    auth_token_file: str | None = None
    ui_url: str | None = None  # Airflow's UI, where the Aurora pages are

    def client(self, **kwargs: Any) -> SchedulerClient:
        return SchedulerClient(self.scheduler_uri, token_file=self.auth_token_file, **kwargs)


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
        uri = entry.get("scheduler_uri")
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            raise ClusterError(
                f"{path}: cluster {entry['name']!r} needs \"scheduler_uri\" as an http(s) URL")
        token_file = entry.get("auth_token_file")
        ui_url = entry.get("ui_url")
        if ui_url is not None and (not isinstance(ui_url, str)
                                   or not ui_url.startswith(("http://", "https://"))):
            raise ClusterError(f"{path}: cluster {entry['name']!r}: \"ui_url\" must be an "
                               "http(s) URL")
        found.append(Cluster(entry["name"], uri.rstrip("/"),
                             str(token_file) if token_file else None,
                             ui_url.rstrip("/") if ui_url else None))
    return found


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
