"""Fixtures of the test cluster's tests: the tiny executor's script, subscribed frameworks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mesos_cluster.cluster import MesosCluster
from tests.mesos_cluster.raw_scheduler import Subscription, framework_info
from tests.mesos_cluster.support import TINY_EXECUTOR

Subscribe = Callable[..., Subscription]


@pytest.fixture
def executor_script(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_executor.py"
    path.write_text(TINY_EXECUTOR)
    return path


@pytest.fixture
def subscribe() -> Iterator[Subscribe]:
    """Subscribe frameworks (closed at the end): ``subscribe(cluster, name=..., **info)``."""
    made: list[Subscription] = []

    def make(cluster: MesosCluster, name: str = "test", framework_id: str | None = None,
             auth: tuple[str, str] | None = None, **fields: Any) -> Subscription:
        subscription = Subscription(cluster.master_address, framework_info(name, **fields),
                                    framework_id=framework_id, auth=auth).start()
        made.append(subscription)
        return subscription

    yield make
    for subscription in made:
        subscription.close()
