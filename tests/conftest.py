"""Every test belongs to exactly one tier (``pyproject.toml`` lists them):

* ``unit``: pure code with injected fakes (``tests/fakes.py``: clock, backend), no process;
* ``process``: real processes (runners, CLIs, servers) in ``tmp_path``;
* ``integration``: a real ZooKeeper, a real Airflow (``dag.test()``), the scheduler daemon.

``scripts/test.sh -m unit`` runs the fast tier alone.

A real ZooKeeper (``zookeeper_server``, also named ``zookeeper``) is started once per session
for every test directory; each test uses its own chroot path.

A real PostgreSQL (``postgres_server``, ``tests/postgres.py``) is started once per session when
a test asks for it; each test gets a new empty database (``postgres_url``). A test that takes
``store_url`` runs on SQLite in its own module and on PostgreSQL in ``on_postgres/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, server_for_tests
from tests.zookeeper import ZooKeeperServer

TIERS = ("unit", "process", "integration")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tiers = [t for t in TIERS if item.get_closest_marker(t) is not None]
        if len(tiers) != 1:
            found = ", ".join(tiers) or "none"
            raise pytest.UsageError(
                f"{item.nodeid}: a test needs exactly one tier marker of {', '.join(TIERS)} "
                f"(found: {found}); set pytestmark in its module")


@pytest.fixture(scope="session")
def zookeeper_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def zookeeper(zookeeper_server: ZooKeeperServer) -> ZooKeeperServer:
    """The same server, by the name the executor's tests use."""
    return zookeeper_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster, or the server of ``AURORA_TEST_POSTGRES_URL``."""
    server = server_for_tests()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of a new empty PostgreSQL database, dropped after the test."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A URL for a new store: a SQLite file in ``tmp_path``. The modules of
    ``tests/scheduler/on_postgres/`` run the tests that take it again on PostgreSQL."""
    return f"sqlite:///{tmp_path / 'store.db'}"
