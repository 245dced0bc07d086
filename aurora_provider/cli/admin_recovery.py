"""``aurora_admin scheduler_*_recovery``: Aurora's staged recovery, verb for verb.

Stage a backup, list its active tasks (Aurora's tab-separated columns), delete tasks from it
by id, then commit it (the scheduler backs up its live store first, and says under which id)
or unload it.
"""

from __future__ import annotations

import argparse

from aurora_provider.api.client import SchedulerClient


def stage(client: SchedulerClient, args: argparse.Namespace) -> int:
    staged = client.stage_recovery(args.backup_id)
    print(f"backup {staged.backup_id} staged for recovery: {staged.active_tasks} active "
          "task(s)")
    return 0


def print_tasks(client: SchedulerClient, args: argparse.Namespace) -> int:
    print("Role\tJob\tShard\tStatus\tTask ID")
    for task in client.recovery_tasks().tasks:
        _, role, _, name = task.key.split("/")
        print("\t".join((role, name, str(task.instance), task.status, task.task_id)))
    return 0


def delete_tasks(client: SchedulerClient, args: argparse.Namespace) -> int:
    ids = [t.strip() for t in args.task_ids.split(",") if t.strip()]
    deleted = client.delete_recovery_tasks(ids).deleted
    print(f"deleted {len(deleted)} task(s) from the staged recovery")
    return 0


def commit(client: SchedulerClient, args: argparse.Namespace) -> int:
    done = client.commit_recovery()
    print(f"recovery committed: the scheduler restarted on backup {done.backup_id}; the store "
          f"as it was before is backup {done.safety_backup}")
    return 0


def unload(client: SchedulerClient, args: argparse.Namespace) -> int:
    unloaded = client.unload_recovery().unloaded
    print(f"backup {unloaded} unloaded" if unloaded else "no recovery was staged")
    return 0


def backup_id_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("backup_id", metavar="BACKUP_ID", help="a backup of scheduler_list_backups")


def task_ids_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("task_ids", metavar="TASK_IDS", help="comma-separated task ids")
