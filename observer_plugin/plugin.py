"""The Airflow plugin: the Aurora pages (a FastAPI app) linked into Airflow's React UI.

Loaded through the ``airflow.plugins`` entry point ``aurora``; the app itself is built on
first import of this module, which only Airflow's plugin manager does.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from observer_plugin.ui.app import create_app

URL_PREFIX = "/aurora"


class AuroraPlugin(AirflowPlugin):
    """The "Aurora" navigation entry, its pages under ``/aurora``, and a task-instance tab."""

    name = "aurora"
    fastapi_apps: list[Any] = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Aurora"}]
    external_views: list[Any] = [
        {"name": "Aurora", "href": f"{URL_PREFIX}/", "url_route": "aurora",
         "destination": "nav", "nav_top_level": True},
        {"name": "Aurora job", "href": f"{URL_PREFIX}/ti/{{DAG_ID}}/{{RUN_ID}}/{{TASK_ID}}",
         "destination": "task_instance", "url_route": "aurora_ti"},
    ]
