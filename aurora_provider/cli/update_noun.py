"""``aurora update start|pause|resume|abort|rollback|pulse|list|info|wait``: job updates.

Updates run in the scheduler (they survive the CLI and the scheduler restarting); these verbs
start, control and watch them. ``start KEY/0-2 FILE`` updates only those instances (a
canary); ``start`` on a job that does not exist creates it. Every verb takes ``--json``.
``start --wait`` and ``wait`` exit with 0 when the update rolled forward, 1 otherwise;
``rollback --wait`` with 0 when it rolled back, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from aurora_provider.api import SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError, get_cluster
from aurora_provider.cli.common import add_config_arguments, load_config
from aurora_provider.cli.entry import WaitTimeout
from aurora_provider.cli.progress import Progress
from aurora_provider.cli.scheduler_cli import (
    Handler,
    add_verb,
    client_for,
    parse_instances,
    print_json,
    split_key,
)
from aurora_provider.config import JobKey, job_to_wire
from aurora_provider.states.update import STATUS_GROUPS, UpdateStatus

MAX_LISTED = 10_000  # the most updates one listing asks the scheduler for
STATUS_HELP = (f"a group ({', '.join(sorted(STATUS_GROUPS))}) or a state such as "
               f"{UpdateStatus.ROLLING_FORWARD}")


def _key(text: str) -> JobKey:
    return split_key(text, with_instances=False)[0]


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _progress_text(d: m.UpdateDetails) -> str:
    counts: dict[str, int] = {}
    for p in d.progress:
        counts[p.state] = counts.get(p.state, 0) + 1
    parts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    return f"{d.status} ({parts})" if parts else d.status


def wait_update(client: SchedulerClient, key: JobKey, update_id: str,
                timeout: float | None, interval: float = 0.5) -> m.UpdateDetails:
    """Poll until the update reaches a terminal state."""
    progress = Progress(f"update {update_id} of {key}")
    started = time.monotonic()
    try:
        while True:
            details = client.update_details(key, update_id)
            progress.update(_progress_text(details))
            if not details.active:
                return details
            if timeout is not None and time.monotonic() - started > timeout:
                raise WaitTimeout(f"update {update_id} of {key} still {details.status} after "
                                  f"{timeout:g} s")
            time.sleep(interval)
    finally:
        progress.close()


def _finish(details: m.UpdateDetails, as_json: bool,
            success: UpdateStatus = UpdateStatus.ROLLED_FORWARD) -> int:
    if as_json:
        print_json(details)
    else:
        print(f"update {details.update_id} of {details.key}: {details.status}")
    if details.status is not success and not as_json:
        print(f"update {details.update_id} of {details.key} ended {details.status}, not "
              f"{success}", file=sys.stderr)
    return 0 if details.status is success else 1


def _scope_text(d: m.UpdateSummary) -> str:
    """How much of the job the update covers, for its one-line report."""
    only = "" if d.only_instances is None else f" instances {d.only_instances} only;"
    return f"{' creates the job;' if d.creates_job else ''}{only}"


def start(args: argparse.Namespace) -> int:
    key, spec = split_key(args.job_key, with_instances=True)
    instances = parse_instances(spec) if spec is not None else None
    wire = job_to_wire(load_config(args).pick(str(key)))
    with client_for(key) as client:
        details = client.start_update(wire, args.message, instances)
        if not args.json:
            print(f"update {details.update_id} of {details.key} started: {details.status};"
                  f"{_scope_text(details)} replace {len(details.replace)}, add "
                  f"{len(details.add)}, remove {len(details.remove)} instance(s)", flush=True)
        if args.wait:
            return _finish(wait_update(client, key, details.update_id, args.wait_timeout),
                           args.json)
    if args.json:
        print_json(details)
    else:
        print(f"  watch it with: aurora update wait {key} {details.update_id}")
    return 0


def _control(verb: str) -> Handler:
    def run(args: argparse.Namespace) -> int:
        key = _key(args.job_key)
        with client_for(key) as client:
            if verb == "pulse":
                result = client.pulse_update(key)
            else:
                result = getattr(client, f"{verb}_update")(key, args.message)
            if getattr(args, "wait", False):  # rollback --wait
                details = wait_update(client, key, result.update_id, args.wait_timeout)
                return _finish(details, args.json, UpdateStatus.ROLLED_BACK)
        if args.json:
            print_json(result)
        else:
            print(f"update {result.update_id} of {result.key}: {result.status}")
        return 0

    return run


def list_updates(args: argparse.Namespace) -> int:
    parts = args.scope.strip("/").split("/")
    if len(parts) > 4 or not parts[0]:
        raise ClusterError(f"{args.scope!r}: expected CLUSTER[/ROLE[/ENV[/NAME]]]")
    names = dict(zip(("cluster", "role", "environment", "name"), parts, strict=False))
    # --status may be given several times (Aurora's client took a list): one query each,
    # merged newest first. --user filters what the scheduler lists, so it reads them all.
    limit = MAX_LISTED if args.user else None
    with get_cluster(parts[0]).client() as client:
        found = {u.update_id: u for status in (args.status or [None])
                 for u in client.list_updates(status=status, limit=limit, **names).updates}
    updates = sorted(found.values(), key=lambda u: u.created_at, reverse=True)
    if args.user:
        updates = [u for u in updates if u.user == args.user]
    result = m.UpdateList(updates=updates)
    if args.json:
        print_json(result)
        return 0
    for u in result.updates:
        print(f"{u.key}  {u.update_id}  {u.status}  by {u.user}  {_stamp(u.created_at)}")
    return 0


def info(args: argparse.Namespace) -> int:
    key = _key(args.job_key)
    with client_for(key) as client:
        d = client.update_details(key, args.update_id)
    if args.json:
        print_json(d)
        return 0
    s = d.settings
    print(f"update {d.update_id} of {d.key}: {d.status}, started by {d.user} "
          f"{_stamp(d.created_at)}")
    if d.creates_job:
        print("  creates the job (it did not exist)")
    if d.only_instances is not None:
        print(f"  only instances {d.only_instances}; the others keep their configuration")
    print(f"  to {d.instances} instance(s): replace {d.replace or '-'}, add {d.add or '-'}, "
          f"remove {d.remove or '-'}")
    print(f"  {s.strategy} strategy, batch {s.batch_sizes or s.batch_size}, watch "
          f"{s.watch_secs:g} s, failures per instance {s.max_per_shard_failures}, total "
          f"{s.max_total_failures}, rollback on failure {s.rollback_on_failure}")
    print("events:")
    for e in d.events:
        who = f" by {e.user}" if e.user else ""
        print(f"  {_stamp(e.timestamp)} {e.status}{who}{f': {e.message}' if e.message else ''}")
    print("instance events:")
    for ie in d.instance_events:
        print(f"  {_stamp(ie.timestamp)} instance {ie.instance}: {ie.action}")
    return 0


def wait(args: argparse.Namespace) -> int:
    key = _key(args.job_key)
    with client_for(key) as client:
        # No id: the job's active update, else its newest (already over: said at once).
        update_id = args.update_id or client.update_details(key).update_id
        return _finish(wait_update(client, key, update_id, args.timeout), args.json)


def register(nouns: Any) -> None:
    noun = nouns.add_parser("update", help="rolling updates of jobs, run by the scheduler")
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        return add_verb(verbs, name, handler, text)

    p = verb("start", start, "start a rolling update of a job to a configuration file "
             "(of only some instances with KEY/0-2 or KEY/0,3,5-7; creates a missing job)")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME[/INSTANCES]")
    add_config_arguments(p)
    p.add_argument("--message", help="why; recorded with the update")
    p.add_argument("--wait", action="store_true", help="wait until the update ends")
    p.add_argument("--wait-timeout", type=float, metavar="SECS")

    for name, text in (("pause", "pause the job's active update"),
                       ("resume", "resume the job's paused update"),
                       ("abort", "abort the job's active update (instances stay as they are)"),
                       ("rollback", "roll the job's active update back")):
        p = verb(name, _control(name), text)
        p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
        p.add_argument("--message")
        if name == "rollback":
            p.add_argument("--wait", action="store_true",
                           help="wait until the rollback ends (exit 0 if ROLLED_BACK)")
            p.add_argument("--wait-timeout", type=float, metavar="SECS")
    p = verb("pulse", _control("pulse"), "pulse the job's coordinated update")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")

    p = verb("list", list_updates, "list updates (newest first)")
    p.add_argument("scope", metavar="CLUSTER[/ROLE[/ENV[/NAME]]]")
    p.add_argument("--status", action="append", metavar="STATUS",
                   help=f"{STATUS_HELP}; repeat for several")
    p.add_argument("--user", help="only updates started by this user")

    p = verb("info", info, "show an update's settings, events and instance events")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    p.add_argument("update_id", metavar="ID", nargs="?",
                   help="default: the active update, else the newest")

    p = verb("wait", wait, "wait until an update ends (exit 0 if it rolled forward)")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    p.add_argument("update_id", metavar="ID", nargs="?",
                   help="default: the active update, else the newest")
    p.add_argument("--timeout", type=float, metavar="SECS")
