"""``tests/scheduler/test_updates_controller.py``'s store tests on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.scheduler import test_updates_controller
from tests.scheduler.on_postgres import store_tests

pytestmark = pytest.mark.integration  # a real PostgreSQL server

globals().update(store_tests(test_updates_controller))


@pytest.fixture
def store_url(postgres_url: str) -> str:
    return postgres_url
