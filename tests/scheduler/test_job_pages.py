"""A job's status at any size, from outside: the summary route and keyset task pages, through
the real daemon over HTTP and both clients."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from aurora_provider.api import AsyncSchedulerClient, InvalidRequest, JobNotFound
from aurora_provider.api.models import TaskPage
from aurora_provider.api.task_lists import TaskCollector
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

KEY = "devcluster/www/test/paged"


def _all_pages(daemon: Daemon, limit: int, *, events: bool = False) -> list[TaskPage]:
    pages = []
    cursor = None
    with daemon.client() as client:
        while True:
            page = client.job_tasks(KEY, limit, cursor, events=events)
            pages.append(page)
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor


@pytest.fixture(scope="module")
def paged(daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Daemon:
    """Five running instances, then instances 1 and 3 killed and two more added (5 and 6):
    five active tasks and two terminal ones."""
    wire = job_wire(tmp_path_factory.mktemp("paged"), "paged", "sleep 600", service=True,
                    instances=5)
    with daemon.client() as client:
        client.create_job(wire)
        eventually(lambda: client.job_summary(KEY).active == {"RUNNING": 5}, timeout=30)
        client.kill(KEY, [1, 3])
        eventually(lambda: sum(client.job_summary(KEY).terminal.values()) == 2, timeout=30)
        client.add_instances(KEY, 0, 2)
        eventually(lambda: client.job_summary(KEY).active == {"RUNNING": 5}, timeout=30)
    return daemon


def test_summary_counts_tasks_by_state_and_summarises_the_config(paged: Daemon) -> None:
    with paged.client() as client:
        summary = client.job_summary(KEY)
    assert summary.key == KEY and summary.exists
    assert summary.instances == 5
    assert summary.active == {"RUNNING": 5}
    assert summary.terminal == {"KILLED": 2}
    assert summary.config is not None
    assert summary.config.is_service and summary.config.instances == 5
    assert summary.config.cpu == pytest.approx(0.01)


def test_pages_cover_every_task_once_active_first_then_newest_terminal(paged: Daemon) -> None:
    with paged.client() as client:
        full = client.job_status(KEY)
    pages = _all_pages(paged, 2)
    assert [len(p.tasks) for p in pages] == [2, 2, 2, 1]
    tasks = [t for p in pages for t in p.tasks]
    assert sorted(t.task_id for t in tasks) == sorted(
        t.task_id for t in full.active + full.terminal)
    active = tasks[:5]
    assert all(t.status.value == "RUNNING" for t in active)
    assert [t.instance for t in active] == [0, 2, 4, 5, 6]
    terminal = tasks[5:]
    assert [t.status.value for t in terminal] == ["KILLED", "KILLED"]
    assert terminal[0].status_at >= terminal[1].status_at
    # Lists leave events out unless asked for.
    assert all(t.events == [] for t in tasks)
    with_events = [t for p in _all_pages(paged, 100, events=True) for t in p.tasks]
    assert [t.task_id for t in with_events] == [t.task_id for t in tasks]
    assert all(t.events for t in with_events)


def test_a_cursor_is_stable_and_checked(paged: Daemon) -> None:
    with paged.client() as client:
        first = client.job_tasks(KEY, 3)
        assert first.next_cursor is not None
        again = client.job_tasks(KEY, 3, first.next_cursor)
        assert again == client.job_tasks(KEY, 3, first.next_cursor)
        assert {t.task_id for t in again.tasks}.isdisjoint(t.task_id for t in first.tasks)
        with pytest.raises(InvalidRequest, match="cursor 'bogus' is not one this scheduler"):
            client.job_tasks(KEY, 3, "bogus")
        with pytest.raises(JobNotFound):
            client.job_summary("devcluster/www/test/never")
        with pytest.raises(JobNotFound):
            client.job_tasks("devcluster/www/test/never")
    token = {"Authorization": f"Bearer {paged.token()}"}
    for query, word in (("limit=0", "limit"), ("limit=1001", "limit"),
                        ("events=maybe", "events")):
        r = httpx.get(f"{paged.url}/api/v1/jobs/www/test/paged/tasks?{query}", headers=token)
        assert r.status_code == 400 and word in r.json()["message"], r.text


def test_async_client_reads_summaries_and_pages(paged: Daemon, tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        async with AsyncSchedulerClient(paged.url, token=paged.token()) as client:
            summary = await client.job_summary(KEY)
            page = await client.job_tasks(KEY, 4)
            return summary.instances, len(page.tasks)

    assert asyncio.run(scenario()) == (5, 4)


def test_task_lists_gather_the_pages_and_stop_when_they_have_enough(paged: Daemon) -> None:
    with paged.client() as client:
        full = client.job_status(KEY)
        everything = client.job_task_lists(KEY)
        active_only = client.job_task_lists(KEY, terminal_limit=0)
        newest = client.job_task_lists(KEY, terminal_limit=1, events=True)
        with pytest.raises(JobNotFound):
            client.job_task_lists("devcluster/www/test/never")
    assert everything.key == KEY
    assert {t.task_id for t in everything.active} == {t.task_id for t in full.active}
    assert {t.task_id for t in everything.terminal} == {t.task_id for t in full.terminal}
    assert [t.instance for t in everything.active] == [0, 2, 4, 5, 6]
    assert active_only.active == everything.active and active_only.terminal == []
    assert [t.task_id for t in newest.terminal] == [everything.terminal[0].task_id]
    assert newest.terminal[0].events and not everything.terminal[0].events
    with pytest.raises(ValueError, match="terminal_limit must be at least 0"):
        TaskCollector(-1)

    async def listed() -> list[str]:
        async with AsyncSchedulerClient(paged.url, token=paged.token()) as client:
            tasks = await client.job_task_lists(KEY, terminal_limit=1)
            return [t.task_id for t in tasks.active + tasks.terminal]

    assert asyncio.run(listed()) == [t.task_id for t in everything.active] + [
        everything.terminal[0].task_id]


def test_the_collector_reads_the_pages_in_order_and_no_further_than_needed() -> None:
    def task(task_id: str, instance: int, status: str) -> dict[str, object]:
        return {"task_id": task_id, "job_key": "www/test/paged", "instance": instance,
                "status": status, "created_at": 1.0, "status_at": 1.0}

    first = TaskPage.model_validate({"key": KEY, "next_cursor": "a1:b", "tasks": [
        task("a", 0, "RUNNING"), task("b", 1, "PENDING")]})
    second = TaskPage.model_validate({"key": KEY, "next_cursor": "t1.0:d", "tasks": [
        task("c", 2, "RUNNING"), task("d", 0, "FINISHED")]})
    third = TaskPage.model_validate({"key": KEY, "next_cursor": None, "tasks": [
        task("e", 1, "FAILED")]})
    active_only = TaskCollector(0)
    assert active_only.add(first) == "a1:b" and active_only.add(second) is None
    assert [t.task_id for t in active_only.tasks.active] == ["a", "b", "c"]
    assert active_only.tasks.terminal == [] and active_only.tasks.key == KEY
    two = TaskCollector(2)
    assert two.add(first) == "a1:b" and two.add(second) == "t1.0:d"
    assert two.page_size() == 1  # one more terminal task wanted, not a full page
    assert two.add(third) is None
    assert [t.task_id for t in two.tasks.terminal] == ["d", "e"]
    everything = TaskCollector()
    assert [everything.add(p) for p in (first, second, third)] == ["a1:b", "t1.0:d", None]
    status = everything.tasks.as_status()
    assert [t["task_id"] for t in status["active"]] == ["a", "b", "c"]
    assert [t["task_id"] for t in status["terminal"]] == ["d", "e"]
