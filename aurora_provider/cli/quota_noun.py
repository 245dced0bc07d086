"""``aurora quota get CLUSTER/ROLE``: a role's production quota and what it consumes."""

from __future__ import annotations

import argparse
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError, get_cluster
from aurora_provider.cli.scheduler_cli import print_json


def amounts(r: m.ResourceAmounts) -> str:
    return f"CPU: {r.cpu:g}, RAM: {r.ram_mb / 1024:g} GB, Disk: {r.disk_mb / 1024:g} GB"


def get(args: argparse.Namespace) -> int:
    cluster, sep, role = args.cluster_role.strip("/").partition("/")
    if not sep or not cluster or not role or "/" in role:
        raise ClusterError(f"{args.cluster_role!r}: expected CLUSTER/ROLE")
    with get_cluster(cluster).client() as client:
        report = client.get_quota(role)
    if args.json:
        print_json(report)
        return 0
    print(f"Allocated quota of role {report.role} on {cluster}:")
    print(f"  {amounts(report.quota)}")
    print("Production resources consumed:")
    print(f"  {amounts(report.production)}")
    print("Non-production resources consumed:")
    print(f"  {amounts(report.non_production)}")
    return 0


def register(nouns: Any) -> None:
    noun = nouns.add_parser("quota", help="show role quotas")
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)
    p = verbs.add_parser("get", help="show a role's quota and consumption",
                         description="show a role's quota and consumption")
    p.add_argument("cluster_role", metavar="CLUSTER/ROLE")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=get)
