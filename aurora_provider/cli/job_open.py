"""``aurora job open CLUSTER[/ROLE[/ENV[/NAME[/INSTANCE]]]]``: the page of a cluster, role,
job or instance in the Aurora pages of Airflow's UI (``observer_plugin``, under ``/aurora``).

The URL is printed, and opened in a browser only when a display is there (``DISPLAY`` or
``WAYLAND_DISPLAY``), so over ssh it is just printed. The UI's address is the cluster's
``ui_url`` in clusters.json. An instance's page is the page of its active task.
"""

from __future__ import annotations

import argparse
import os
import webbrowser
from typing import Any
from urllib.parse import quote

from aurora_provider.cli.clusters import ClusterError, get_cluster
from aurora_provider.cli.scheduler_cli import add_verb
from aurora_provider.config import JobKey

UI_PREFIX = "/aurora"  # where Airflow mounts the plugin's pages (observer_plugin.plugin)


def page_url(text: str) -> str:
    """The UI page of ``text``, asking the scheduler only for an instance's task."""
    parts = text.strip("/").split("/")
    if not parts[0] or len(parts) > 5:
        raise ClusterError(f"{text!r}: expected CLUSTER[/ROLE[/ENV[/NAME[/INSTANCE]]]]")
    cluster = get_cluster(parts[0])
    if not cluster.ui_url:
        raise ClusterError(f"cluster {cluster.name!r} has no \"ui_url\": add the Airflow UI's "
                           "address (e.g. http://127.0.0.1:8080) to its clusters.json entry")
    base = f"{cluster.ui_url}{UI_PREFIX}"
    if len(parts) == 1:
        return f"{base}/"
    if len(parts) < 4:  # a role's page lists its environments and jobs
        return f"{base}/roles/{quote(parts[1])}"
    key = JobKey.parse("/".join(parts[:4]))
    job_page = f"{base}/jobs/{key.cluster}/{key.role}/{key.environment}/{key.name}"
    if len(parts) == 4:
        return job_page
    if not parts[4].isdigit():
        raise ClusterError(f"{text!r}: the instance {parts[4]!r} must be a number")
    instance = int(parts[4])
    with cluster.client() as client:
        active = client.job_task_lists(key, terminal_limit=0).active
    task = next((t for t in active if t.instance == instance), None)
    if task is None:
        raise ClusterError(f"{key} has no active instance {instance}")
    return f"{base}/tasks/{quote(task.task_id)}"


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_page(args: argparse.Namespace) -> int:
    url = page_url(args.key)
    print(url)
    if has_display():
        webbrowser.open(url)
    return 0


def register_verbs(verbs: Any) -> None:
    p = add_verb(verbs, "open", open_page,
                 "print (and, with a display, open) the UI page of a cluster, role, job or "
                 "instance")
    p.add_argument("key", metavar="CLUSTER[/ROLE[/ENV[/NAME[/INSTANCE]]]]")
