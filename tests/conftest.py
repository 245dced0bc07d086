"""Every test belongs to exactly one tier (``pyproject.toml`` lists them):

* ``unit``: pure code with injected fakes (``tests/fakes.py``: clock, backend), no process;
* ``process``: real processes (runners, CLIs, servers) in ``tmp_path``;
* ``integration``: a real ZooKeeper, a real Airflow (``dag.test()``), the scheduler daemon.

``scripts/test.sh -m unit`` runs the fast tier alone.

A real ZooKeeper (``zookeeper_server``, also named ``zookeeper``) is started once per session
for every test directory; each test uses its own chroot path.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
