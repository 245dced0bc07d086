"""The clients follow a follower's 307 to the leader: a real scheduler daemon behind
stand-ins of replicas that are not the leader (``tests/api/follower.py``)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora_provider.api import AsyncSchedulerClient, RetryPolicy, SchedulerClient
from aurora_provider.api.client import MAX_HOPS
from aurora_provider.api.errors import InvalidRequest, SchedulerUnavailable, Unauthorized
from tests.daemon import Daemon, free_port

from .follower import Follower, Relay, service_wire

pytestmark = pytest.mark.integration

QUICK = RetryPolicy(attempts=2, initial=0.05)


@pytest.fixture(scope="module")
def leader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("leader")
    daemon = Daemon(root / "work", root / "home", [])
    daemon.start()
    yield daemon
    daemon.stop(signal.SIGKILL)
    daemon.kill_runners()


@pytest.fixture
def follower(leader: Daemon) -> Iterator[Follower]:
    stand_in = Follower(leader.url)
    yield stand_in
    stand_in.stop()


def test_a_create_through_a_follower_reaches_the_leader_with_its_token(
        leader: Daemon, follower: Follower, tmp_path: Path) -> None:
    key = "devcluster/www/test/redirected"
    with SchedulerClient(follower.url, token=leader.token(), retry=QUICK) as client:
        created = client.create_job(service_wire(tmp_path, "redirected"))
        assert client.base_url == leader.url  # the leader is remembered...
        status = client.job_status(key)
        client.killall(key)
    assert [t.task_id for t in status.active] == created.task_ids
    # ...so the follower saw the create alone, and the token was sent to it as well.
    assert [(a.method, a.path) for a in follower.asked] == [("POST", "/api/v1/jobs")]
    assert follower.asked[0].authorization == f"Bearer {leader.token()}"


def test_a_query_string_survives_the_hop(leader: Daemon, follower: Follower) -> None:
    """limit=0 is refused by the leader's validation: a dropped query would be a 404."""
    with (SchedulerClient(follower.url, token=leader.token(), retry=QUICK) as client,
          pytest.raises(InvalidRequest, match="limit")):
        client.job_tasks("devcluster/www/test/absent", 0)
    assert follower.asked[0].path == "/api/v1/jobs/www/test/absent/tasks?limit=0"


def test_a_wrong_token_is_refused_by_the_leader_not_lost_on_the_way(
        leader: Daemon, follower: Follower) -> None:
    with (SchedulerClient(follower.url, token="not-a-token", retry=QUICK) as client,
          pytest.raises(Unauthorized)):
        client.whoami()


def test_the_async_client_follows_too(leader: Daemon, follower: Follower,
                                      tmp_path: Path) -> None:
    key = "devcluster/www/test/async_redirected"
    wire = service_wire(tmp_path, "async_redirected")

    async def scenario() -> tuple[list[str], list[str], str]:
        async with AsyncSchedulerClient(follower.url, token=leader.token(),
                                        retry=QUICK) as client:
            created = await client.create_job(wire)
            status = await client.job_status(key)
            await client.killall(key)
            return created.task_ids, [t.task_id for t in status.active], client.base_url

    created, active, base_url = asyncio.run(scenario())
    assert active == created and base_url == leader.url
    assert len(follower.asked) == 1


def test_a_redirect_loop_is_one_line_naming_the_replicas() -> None:
    first, second = Follower(None), Follower(None)
    first.leader, second.leader = second.url, first.url
    try:
        with (SchedulerClient(first.url, token="t", retry=QUICK) as client,
              pytest.raises(SchedulerUnavailable) as info):
            client.whoami()
    finally:
        first.stop()
        second.stop()
    said = str(info.value)
    assert said.startswith("redirect loop between scheduler replicas: ")
    assert first.url in said and second.url in said and "\n" not in said
    assert len(first.asked) == len(second.asked) == 1  # the loop is seen, not run


def test_a_chain_longer_than_the_hops_allowed_stops(leader: Daemon) -> None:
    chain = [Follower(leader.url)]
    for _ in range(MAX_HOPS - 1):
        chain.insert(0, Follower(chain[0].url))
    try:
        with SchedulerClient(chain[0].url, token=leader.token(), retry=QUICK) as client:
            assert client.whoami().admin  # MAX_HOPS redirects are followed
        chain.insert(0, Follower(chain[0].url))
        with (SchedulerClient(chain[0].url, token=leader.token(), retry=QUICK) as client,
              pytest.raises(SchedulerUnavailable, match=f"more than {MAX_HOPS} redirects")):
            client.whoami()
    finally:
        for stand_in in chain:
            stand_in.stop()


def test_only_http_locations_are_followed() -> None:
    follower = Follower("ftp://127.0.0.1:21")
    try:
        with (SchedulerClient(follower.url, token="t", retry=QUICK) as client,
              pytest.raises(SchedulerUnavailable, match="not an http\\(s\\) URL")):
            client.whoami()
    finally:
        follower.stop()


def test_no_leader_known_is_the_followers_503(follower: Follower) -> None:
    follower.leader = None
    with (SchedulerClient(follower.url, token="t", retry=QUICK) as client,
          pytest.raises(SchedulerUnavailable, match="no leader is known")):
        client.whoami()


def test_a_vanished_leader_sends_the_client_back_to_its_replica(
        leader: Daemon, follower: Follower) -> None:
    """The leader the client remembered is gone: the replica it was made with names the new
    one (here the stand-in leader was a relay to the daemon, the new one the daemon)."""
    old_leader = Relay(leader.url)
    follower.leader = old_leader.url
    with SchedulerClient(follower.url, token=leader.token(), retry=QUICK) as client:
        assert client.whoami().admin
        assert client.base_url == old_leader.url
        old_leader.stop()
        follower.leader = leader.url
        assert client.whoami().admin
        assert client.base_url == leader.url
    assert len(follower.asked) == 2


def test_an_unreachable_leader_is_named(follower: Follower) -> None:
    follower.leader = dead = f"http://127.0.0.1:{free_port()}"
    with (SchedulerClient(follower.url, token="t", retry=QUICK) as client,
          pytest.raises(SchedulerUnavailable, match=f"cannot reach the scheduler at {dead}/")):
        client.whoami()
