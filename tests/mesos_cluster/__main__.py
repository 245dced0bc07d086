"""``python -m tests.mesos_cluster --agents N [--zk HOSTS] [--instant]``: a test Mesos
cluster to try things by hand; prints the master URL and runs until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import tempfile
import threading
from types import FrameType

from tests.mesos_cluster.cluster import MesosCluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mesos_cluster",
                                     description=__doc__)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--masters", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="the first master's port")
    parser.add_argument("--zk", help="ZooKeeper hosts (host:port,...) for leader election")
    parser.add_argument("--zk-path", default="/mesos")
    parser.add_argument("--instant", action="store_true",
                        help="agents that launch nothing and answer at once")
    parser.add_argument("--work-dir", help="where sandboxes go (default: a temporary dir)")
    parser.add_argument("--heartbeat", type=float, default=15.0,
                        help="seconds between HEARTBEAT events")
    parser.add_argument("--allocation-interval", type=float, default=1.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(threadName)s %(levelname)s %(message)s")
    done = threading.Event()

    def finish(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    with tempfile.TemporaryDirectory(prefix="mesos-cluster-") as scratch, MesosCluster(
            args.work_dir or scratch, agents=args.agents, masters=args.masters, zk=args.zk,
            zk_path=args.zk_path, instant=args.instant, heartbeat_interval=args.heartbeat,
            allocation_interval=args.allocation_interval, master_port=args.port) as cluster:
        print(cluster.master_url, flush=True)
        for agent in cluster.agents:
            print(f"  {agent.hostname} {agent.agent_id} 127.0.0.1:{agent.port}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
