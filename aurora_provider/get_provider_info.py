"""Provider metadata, read by Airflow through the ``apache_airflow_provider`` entry point.

Kept import-free: Airflow calls it on every start, and the ``cli`` function it names runs
on every ``airflow`` command.
"""

from __future__ import annotations

from typing import Any

from aurora_provider import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-aurora",
        "name": "Aurora",
        "description": "Run Aurora services, cron jobs and ad-hoc jobs from Airflow: "
        "the .aurora language, the Aurora scheduler, its executor and observer.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Aurora",
                "external-doc-url": "https://aurora.apache.org/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "Aurora",
                "python-modules": [
                    "aurora_provider.operators.job",
                    "aurora_provider.operators.update",
                    "aurora_provider.operators.cron",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Aurora",
                "python-modules": ["aurora_provider.sensors.job", "aurora_provider.sensors.update"],
            }
        ],
        "hooks": [
            {"integration-name": "Aurora", "python-modules": ["aurora_provider.hooks.aurora"]}
        ],
        "triggers": [
            {
                "integration-name": "Aurora",
                "python-modules": [
                    "aurora_provider.triggers.job",
                    "aurora_provider.triggers.update",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "aurora",
                "hook-class-name": "aurora_provider.hooks.aurora.AuroraHook",
                "hook-name": "Aurora",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port", "extra"],
                    "relabeling": {"host": "Scheduler URL", "password": "API token"},
                    "placeholders": {
                        "host": "http://127.0.0.1:8081",
                        "password": "empty: read $AURORA_HOME/token",
                    },
                },
                "conn-fields": {
                    "cluster": {
                        "label": "Cluster",
                        "description": "the cluster's name in job keys (cluster/role/env/name)",
                        "schema": {"type": ["string", "null"], "default": "devcluster"},
                    },
                    # The leader from ZooKeeper; the URL above is then only the fallback.
                    "zk": {
                        "label": "ZooKeeper hosts",
                        "description": "find the leading scheduler in ZooKeeper: its hosts "
                                       "(comma-separated); the Scheduler URL is then the fallback",
                        "schema": {"type": ["string", "null"]},
                    },
                    "zk_port": {
                        "label": "ZooKeeper port",
                        "description": "for hosts that name no port (default 2181)",
                        "schema": {"type": ["integer", "null"]},
                    },
                    "scheduler_zk_path": {
                        "label": "Scheduler ZooKeeper path",
                        "description": "where the leader advertises itself (the scheduler's "
                                       "--zk-path), e.g. /aurora/scheduler",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            }
        ],
        "extra-links": ["aurora_provider.operators.base.AuroraJobLink"],
        "cli": ["aurora_provider.cli.airflow_commands.get_aurora_cli_commands"],
    }
