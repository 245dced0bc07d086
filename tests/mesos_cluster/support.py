"""What the test cluster's own tests share: a tiny v1 executor, task builders, checks.

``TINY_EXECUTOR`` is a v1 executor in a few lines (what a real one does, minus everything
else): it subscribes, runs each task as the task's ``data`` says (``then``: ``finish``,
``fail``, ``exit:N``, ``hang``), keeps its updates until ACKNOWLEDGED and, with
checkpointing, re-subscribes after its agent restarts.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from pathlib import Path
from typing import Any

import psutil

from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.raw_scheduler import Subscription
from tests.mesos_cluster.wire import Json

TINY_EXECUTOR = r'''
import base64, json, os, sys, time, uuid
import httpx

AGENT = os.environ["MESOS_AGENT_ENDPOINT"]
FID, EID = os.environ["MESOS_FRAMEWORK_ID"], os.environ["MESOS_EXECUTOR_ID"]
CHECKPOINT = os.environ["MESOS_CHECKPOINT"] == "1"
URL = f"http://{AGENT}/api/v1/executor"
client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
unacked_updates, unacked_tasks, plans, live = {}, {}, {}, set()
with open("env.json", "w") as out:
    json.dump(dict(os.environ), out)

def log(*words):
    print(*words, file=sys.stderr, flush=True)

def call(kind, **payload):
    body = {"type": kind, "framework_id": {"value": FID}, "executor_id": {"value": EID}}
    body.update(payload)
    try:
        return client.post(URL, json=body).status_code
    except httpx.HTTPError as e:
        return str(e)

def update(task_id, state, message=""):
    status = {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_EXECUTOR",
              "uuid": base64.b64encode(uuid.uuid4().bytes).decode(), "message": message,
              "timestamp": time.time()}
    unacked_updates[status["uuid"]] = {"status": status}
    unacked_tasks.pop(task_id, None)
    if state != "TASK_RUNNING":
        live.discard(task_id)
    log("UPDATE", task_id, state, call("UPDATE", update={"status": status}))

def finish_if_done():
    if not live and not unacked_updates and not any(p.get("stay") for p in plans.values()):
        log("done"); os._exit(0)

def handle(event):
    kind = event["type"]
    log("EVENT", kind)
    if kind == "LAUNCH":
        task = event["launch"]["task"]
        task_id = task["task_id"]["value"]
        plan = json.loads(base64.b64decode(task.get("data", "e30=")))
        plans[task_id] = plan
        unacked_tasks[task_id] = task
        live.add(task_id)
        if plan.get("silent"):
            return
        update(task_id, "TASK_RUNNING")
        then = plan.get("then", "finish")
        if then == "finish":
            update(task_id, "TASK_FINISHED")
        elif then == "fail":
            update(task_id, "TASK_FAILED", "asked to fail")
        elif then.startswith("exit:"):
            os._exit(int(then[5:]))
    elif kind == "KILL":
        update(event["kill"]["task_id"]["value"], "TASK_KILLED")
    elif kind == "ACKNOWLEDGED":
        unacked_updates.pop(event["acknowledged"]["uuid"], None)
        finish_if_done()
    elif kind == "MESSAGE":
        call("MESSAGE", message={"data": event["message"]["data"]})
    elif kind == "SHUTDOWN":
        for task_id in sorted(live):
            update(task_id, "TASK_KILLED", "shutdown")
        os._exit(0)

def subscribe():
    body = {"type": "SUBSCRIBE", "framework_id": {"value": FID},
            "executor_id": {"value": EID},
            "subscribe": {"unacknowledged_tasks": list(unacked_tasks.values()),
                          "unacknowledged_updates": list(unacked_updates.values())}}
    with client.stream("POST", URL, json=body, headers={"Accept": "application/json"}) as r:
        log("SUBSCRIBE", r.status_code)
        if r.status_code != 200:
            return
        buffer = b""
        for chunk in r.iter_raw():
            buffer += chunk
            while b"\n" in buffer:
                head, rest = buffer.split(b"\n", 1)
                if len(rest) < int(head):
                    break
                handle(json.loads(rest[:int(head)]))
                buffer = rest[int(head):]

deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        subscribe()
    except httpx.HTTPError as e:
        log("DISCONNECTED", e)
    if not CHECKPOINT:
        log("agent gone and no checkpointing: exiting"); os._exit(1)
    time.sleep(0.1)
os._exit(2)
'''


def executor_info(script: Path, executor_id: str = "tiny", **fields: Any) -> Json:
    info: Json = {
        "executor_id": {"value": executor_id}, "name": "tiny executor",
        "command": {"value": f"{sys.executable} {script}", "shell": True},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                      {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
    }
    info.update(fields)
    return info


def task_info(task_id: str, offer: Json, executor: Json, *, cpus: float = 0.5,
              mem: float = 64, ports: tuple[int, int] | None = None,
              **plan: Any) -> Json:
    resources: list[Json] = [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}},
    ]
    if ports is not None:
        resources.append({"name": "ports", "type": "RANGES",
                          "ranges": {"range": [{"begin": ports[0], "end": ports[1]}]}})
    return {
        "name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
        "resources": resources, "executor": executor,
        "data": base64.b64encode(json.dumps(plan).encode()).decode(),
    }


def launch(subscription: Subscription, offer: Json, *tasks: Json,
           filters: Json | None = None) -> int:
    accept: Json = {"offer_ids": [offer["id"]],
                    "operations": [{"type": "LAUNCH", "launch": {"task_infos": list(tasks)}}]}
    if filters is not None:
        accept["filters"] = filters
    return subscription.call("ACCEPT", accept).status_code


CLUSTER_THREADS = ("master-", "agent-", "instant-agents", "reaper-")


def assert_no_executor_survives(cluster: MesosCluster) -> None:
    """After ``stop()``: no executor process, and no thread of the cluster, is left."""
    alive = [pid for pid in cluster.executor_pids()
             if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert not alive, f"executor processes survived the cluster: {alive}"
    threads = [t.name for t in threading.enumerate() if t.name.startswith(CLUSTER_THREADS)]
    assert not threads, f"threads of the cluster survived it: {threads}"
