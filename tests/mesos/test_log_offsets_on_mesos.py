"""The offset read of a run's log on the Mesos backend: the scheduler reads the agent's
``/files/read`` with offset and length (test Mesos cluster, real executor, real ZooKeeper)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.eventually import eventually
from tests.mesos.test_scheduler_on_mesos import MesosWorld
from tests.scheduler.conftest import job_wire
from tests.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration


@pytest.fixture
def world(tmp_path: Path, zookeeper: ZooKeeperServer) -> Iterator[MesosWorld]:
    w = MesosWorld(tmp_path, zookeeper, agents=1).start()
    try:
        yield w
    finally:
        w.stop()


def test_a_log_is_read_in_pieces_from_the_agent(world: MesosWorld, tmp_path: Path) -> None:
    text = "".join(f"line {i:02d}\n" for i in range(20))
    cmd = "for i in $(seq 0 19); do printf 'line %02d\\n' $i; done"
    (task_id,) = world.create(job_wire(tmp_path, "pieces", cmd))
    eventually(lambda: (s := world.status("pieces")) and s.terminal, timeout=60,
               what="FINISHED")
    with world.daemon.client() as c:
        eventually(lambda: c.task_log_chunk(task_id, "main", 0).size == len(text),
                   timeout=20, what="the whole stdout")
        pieces, offset = [], 0
        while offset < len(text):
            chunk = c.task_log_chunk(task_id, "main", 0, offset=offset, limit=50)
            assert chunk.offset == offset and chunk.next == min(offset + 50, len(text))
            pieces.append(chunk.text)
            offset = chunk.next
        assert "".join(pieces) == text
        beyond = c.task_log_chunk(task_id, "main", 0, offset=len(text) + 5)
        assert (beyond.next, beyond.text, beyond.size) == (len(text) + 5, "", len(text))
