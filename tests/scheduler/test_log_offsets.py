"""Reading a run's log from a byte offset (the ``chunk`` route), on the local backend of the
real daemon: pieces that join up, a read beyond the end, a bad offset, a character cut by
the end of a read."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from aurora_provider.api import InvalidRequest, TaskNotFound
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

# 30 lines of "line NN\n" (8 bytes each), then a euro sign (3 bytes) and a newline.
TEXT = "".join(f"line {i:02d}\n" for i in range(30)) + "\u20ac\n"


def test_a_log_is_read_in_pieces_from_offsets(daemon: Daemon, tmp_path: Path) -> None:
    cmd = "for i in $(seq 0 29); do printf 'line %02d\\n' $i; done; printf '\\342\\202\\254\\n'"
    with daemon.client() as c:
        [task_id] = c.create_job(job_wire(tmp_path, "offsets", cmd)).task_ids
        size = len(TEXT.encode())
        eventually(lambda: c.task_log_chunk(task_id, "main", 0, offset=0).size == size,
                   what="the whole stdout", ignore=(TaskNotFound,))

        pieces, offset = [], 0
        while offset < size:
            chunk = c.task_log_chunk(task_id, "main", 0, "stdout", offset=offset, limit=100)
            assert chunk.offset == offset and chunk.size == size
            assert chunk.next > offset
            pieces.append(chunk.text)
            offset = chunk.next
        assert "".join(pieces) == TEXT
        # 240 bytes of lines, then the euro sign: a read of 241 stops before its first byte.
        cut = c.task_log_chunk(task_id, "main", 0, offset=0, limit=241)
        assert (cut.next, cut.text) == (240, TEXT[:240])

        at_end = c.task_log_chunk(task_id, "main", 0, offset=size)
        beyond = c.task_log_chunk(task_id, "main", 0, offset=size + 50)
        assert (at_end.next, at_end.text, at_end.size) == (size, "", size)
        assert (beyond.next, beyond.text, beyond.size) == (size + 50, "", size)

        with pytest.raises(InvalidRequest, match="offset"):
            c.task_log_chunk(task_id, "main", 0, offset=-1)
        with pytest.raises(TaskNotFound):
            c.task_log_chunk(task_id, "nosuchprocess", 0, offset=0)
        # The tail route is unchanged.
        assert c.task_log(task_id, "main", 0, tail_bytes=4) == "\u20ac\n"


def test_the_offset_read_answers_json_with_its_positions(daemon: Daemon,
                                                          tmp_path: Path) -> None:
    with daemon.client() as c:
        [task_id] = c.create_job(job_wire(tmp_path, "offsets-wire", "echo hello")).task_ids
        eventually(lambda: c.task_log_chunk(task_id, "main", 0).size == 6,
                   what="stdout", ignore=(TaskNotFound,))
    answer = httpx.get(f"{daemon.url}/api/v1/tasks/{task_id}/logs/main/0/stdout/chunk",
                       params={"offset": 1, "limit": 4},
                       headers={"Authorization": f"Bearer {daemon.token()}"}, timeout=30)
    assert answer.status_code == 200
    assert answer.json() == {"offset": 1, "next": 5, "size": 6, "text": "ello"}
    too_small = httpx.get(answer.url.copy_set_param("limit", "3"), headers=answer.request.headers,
                          timeout=30)
    assert too_small.status_code == 400 and "limit" in too_small.json()["message"]
